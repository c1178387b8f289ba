using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Rollouts;
using Hawser.Shared.Protocol.V1;

namespace Hawser.Controller.Api;

/// <summary>Rollouts across the API edge: the wire's <c>hawser.v1</c> messages to and from the domain's records.</summary>
public static class RolloutWire
{
    /// <summary>The options an operator sent, as the domain keeps them.</summary>
    public static RolloutSettings Settings(RolloutOptions options) => new()
    {
        Selector = options.Selector,
        Batch = options.Batch,
        Canary = options.Canary,
        Pause = options.Pause?.ToTimeSpan(),
        MaxFailures = options.MaxFailures,
        OnFailure = options.OnFailure,
        Checks = [.. options.Checks.Select(c => new HttpCheckSettings(c.Url, c.ExpectStatus, c.Hold?.ToTimeSpan(), c.Timeout?.ToTimeSpan()))],
        GateTimeout = options.GateTimeout?.ToTimeSpan(),
    };

    /// <summary>The rollout a wire message describes (stores before schema 8 kept rollouts as these messages).</summary>
    public static RolloutRecord Record(Rollout message) => new()
    {
        Id = message.Id,
        Revision = message.Revision,
        State = RolloutWords.RolloutStateOf(message.State),
        Reason = message.Reason,
        Settings = Settings(message.Options ?? new RolloutOptions()),
        Batch = message.Batch,
        Batches = message.Batches,
        Promoted = message.Promoted,
        AcceptedFailures = message.AcceptedFailures,
        NextBatchAt = message.NextBatchAt?.ToDateTimeOffset(),
        CreatedAt = message.CreatedAt?.ToDateTimeOffset() ?? default,
        UpdatedAt = message.UpdatedAt?.ToDateTimeOffset() ?? default,
        Nodes = [.. message.Nodes.Select(n => new RolloutNodeRecord
        {
            Node = n.Node,
            Batch = n.Batch,
            State = RolloutWords.NodeStateOf(n.State),
            Detail = n.Detail,
            Failure = n.Failure,
            PreviousRevision = n.PreviousRevision,
            MovedAt = n.MovedAt?.ToDateTimeOffset(),
            HealthySince = n.HealthySince?.ToDateTimeOffset(),
            Unchanged = n.Unchanged,
        })],
    };

    /// <summary>The wire message of a rollout.</summary>
    public static Rollout Message(RolloutRecord rollout)
    {
        var message = new Rollout
        {
            Id = rollout.Id,
            Revision = rollout.Revision,
            State = RolloutWords.Of(rollout.State),
            Reason = rollout.Reason,
            Options = Options(rollout.Settings),
            Batch = rollout.Batch,
            Batches = rollout.Batches,
            CreatedAt = Timestamp.FromDateTimeOffset(rollout.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(rollout.UpdatedAt),
            NextBatchAt = Time(rollout.NextBatchAt),
            Promoted = rollout.Promoted,
            AcceptedFailures = rollout.AcceptedFailures,
        };
        message.Nodes.Add(rollout.Nodes.Select(n => new RolloutNode
        {
            Node = n.Node,
            Batch = n.Batch,
            State = RolloutWords.Of(n.State),
            Detail = n.Detail,
            PreviousRevision = n.PreviousRevision,
            MovedAt = Time(n.MovedAt),
            HealthySince = Time(n.HealthySince),
            Unchanged = n.Unchanged,
            Failure = n.Failure,
        }));
        return message;
    }

    private static RolloutOptions Options(RolloutSettings settings)
    {
        var options = new RolloutOptions
        {
            Selector = settings.Selector,
            Batch = settings.Batch,
            Canary = settings.Canary,
            Pause = Span(settings.Pause),
            MaxFailures = settings.MaxFailures,
            OnFailure = settings.OnFailure,
            GateTimeout = Span(settings.GateTimeout),
        };
        options.Checks.Add(settings.Checks.Select(c => new HttpCheck { Url = c.Url, ExpectStatus = c.ExpectStatus, Hold = Span(c.Hold), Timeout = Span(c.Timeout) }));
        return options;
    }

    private static Timestamp? Time(DateTimeOffset? time) => time is { } value ? Timestamp.FromDateTimeOffset(value) : null;

    private static Duration? Span(TimeSpan? span) => span is { } value ? Duration.FromTimeSpan(value) : null;
}
