using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Controller.Notifications;
using Hawser.Controller.Store;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>ListReceivers and TestReceiver: the receivers this controller's notifications file names, and a sample sent to one.</summary>
public sealed class NotificationsApi(ControllerStore store, NotificationSettings? settings, NotificationSender? sender)
{
    /// <summary>Every receiver with what its deliveries came to.</summary>
    public async Task<ListReceiversResponse> ListAsync(CancellationToken cancellationToken)
    {
        var response = new ListReceiversResponse { Enabled = settings is not null };
        if (settings is null)
        {
            return response;
        }
        var deliveries = (await store.Outbox.DeliveriesAsync(cancellationToken)).ToDictionary(d => d.Receiver, StringComparer.Ordinal);
        foreach (var receiver in settings.Receivers.Values.OrderBy(r => r.Name, StringComparer.Ordinal))
        {
            var message = new Receiver
            {
                Name = receiver.Name, Format = receiver.Format.ToString().ToLowerInvariant(),
                Url = receiver.Url.GetLeftPart(UriPartial.Authority),
                Routes = { settings.Routes.Where(r => r.To.Contains(receiver.Name, StringComparer.Ordinal)).Select(r => r.Name) },
            };
            if (deliveries.TryGetValue(receiver.Name, out var d))
            {
                message.Delivered = (ulong)d.Delivered;
                message.Pending = (ulong)d.Pending;
                message.Undeliverable = (ulong)d.Undeliverable;
                message.FailedAttempts = (ulong)Math.Max(0, d.FailedAttempts);
                message.LastError = d.LastError ?? "";
                if (d.LastDelivered is { } last)
                {
                    message.LastDelivered = Timestamp.FromDateTimeOffset(last);
                }
            }
            response.Receivers.Add(message);
        }
        return response;
    }

    /// <summary>Sends a sample <c>notification.test</c> to the receiver named, now, and says whether it was taken.</summary>
    public async Task<TestReceiverResponse> TestAsync(TestReceiverRequest request, string actor, CancellationToken cancellationToken)
    {
        if (settings is null || sender is null)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition, "notifications are off: start the controller with --notifications FILE");
        }
        if (!settings.Receivers.TryGetValue(request.Name, out var receiver))
        {
            throw ApiError.Of(StatusCode.NotFound, $"no receiver '{request.Name}' in the notifications file (receivers: {string.Join(", ", settings.Receivers.Keys.Order(StringComparer.Ordinal))})");
        }
        var sample = new OutboxEntry
        {
            Id = 0, Key = Guid.NewGuid().ToString("N"), Receiver = receiver.Name, GroupKey = "", Severity = EventSeverity.Info, Attempts = 0,
            Event = new EventRecord
            {
                At = DateTimeOffset.UtcNow, Kind = "notification.test", Actor = actor,
                Summary = $"a test notification to {receiver.Name}, sent by {actor}: if you read this, {receiver.Name} works",
            },
        };
        var error = await sender.DeliverAsync(new NotificationMessage(receiver, [sample]), cancellationToken);
        return new TestReceiverResponse { Delivered = error is null, Error = error ?? "", Id = sample.Key };
    }
}
