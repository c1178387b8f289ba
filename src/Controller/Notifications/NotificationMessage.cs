using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hawser.Controller.Store.Repositories;
using Hawser.Shared.Cli;

namespace Hawser.Controller.Notifications;

/// <summary>
/// One message to one receiver: an event and the repeats grouped with it, as the receiver's format wants it. Node-supplied
/// text is sent as one line each with control characters shown, not acted on (it reaches chat clients and terminals).
/// </summary>
public sealed class NotificationMessage(ReceiverSettings receiver, IReadOnlyList<OutboxEntry> entries)
{
    /// <summary>The most repeats listed in one message (the count says how many there were).</summary>
    public const int MaxRepeatsListed = 20;

    /// <summary>The header that carries the webhook body's HMAC-SHA256: <c>sha256=HEX</c>.</summary>
    public const string SignatureHeader = "X-Hawser-Signature";

    private OutboxEntry First => entries[0];

    /// <summary>The idempotency key: the first event's, the same on every attempt at this message.</summary>
    public string Key => First.Key;

    /// <summary>The request that delivers the message.</summary>
    public HttpRequestMessage Request()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, receiver.Url);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", Key);
        request.Headers.TryAddWithoutValidation("X-Hawser-Event", First.Event.Kind);
        switch (receiver.Format)
        {
            case ReceiverFormat.Webhook:
                var body = WebhookBody();
                request.Content = new ByteArrayContent(body);
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                request.Headers.TryAddWithoutValidation(SignatureHeader, "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(receiver.Secret!, body)));
                break;
            case ReceiverFormat.Slack:
                request.Content = new ByteArrayContent(Json(writer => writer.WriteString("text", ChatText())));
                request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                break;
            default:
                request.Content = new StringContent(PlainText(), Encoding.UTF8, "text/plain");
                request.Headers.TryAddWithoutValidation("Title", Ascii(Title()));
                request.Headers.TryAddWithoutValidation("Priority", First.Severity switch { EventSeverity.Error => "high", EventSeverity.Warning => "default", _ => "low" });
                request.Headers.TryAddWithoutValidation("Tags", First.Severity switch { EventSeverity.Error => "rotating_light", EventSeverity.Warning => "warning", _ => "information_source" });
                break;
        }
        return request;
    }

    /// <summary>The webhook's JSON body (documented in the README's "Alerts and notifications").</summary>
    public byte[] WebhookBody() => Json(writer =>
    {
        var e = First.Event;
        writer.WriteString("id", Key);
        writer.WriteString("kind", e.Kind);
        writer.WriteString("severity", First.Severity.ToString().ToLowerInvariant());
        writer.WriteString("node", e.Node);
        writer.WriteNumber("revision", e.Revision);
        writer.WriteString("actor", Line(e.Actor));
        writer.WriteString("at", e.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        writer.WriteString("summary", Line(e.Summary));
        writer.WriteStartArray("details");
        foreach (var detail in e.Details)
        {
            writer.WriteStringValue(Line(detail));
        }
        writer.WriteEndArray();
        writer.WriteNumber("count", entries.Count);
        writer.WriteStartArray("repeats");
        foreach (var repeat in entries.Skip(1).Take(MaxRepeatsListed))
        {
            writer.WriteStartObject();
            writer.WriteString("id", repeat.Key);
            writer.WriteString("at", repeat.Event.At.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            writer.WriteString("summary", Line(repeat.Event.Summary));
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
    });

    private string Title() => First.Event.Node.Length > 0 ? $"hawser: {First.Event.Kind} on {First.Event.Node}" : $"hawser: {First.Event.Kind}";

    private string PlainText()
    {
        var text = new StringBuilder(Line(First.Event.Summary));
        foreach (var detail in First.Event.Details.Take(10))
        {
            text.Append('\n').Append("- ").Append(Line(detail));
        }
        if (entries.Count > 1)
        {
            text.Append('\n').Append(CultureInfo.InvariantCulture, $"({entries.Count - 1} more like it until {entries[^1].Event.At.UtcDateTime:HH:mm:ss}Z)");
        }
        return text.ToString();
    }

    private string ChatText() => $"*{First.Severity.ToString().ToUpperInvariant()}* {Title()}\n{PlainText()}";

    private static string Line(string text) => TerminalText.Neutralize(text);

    private static string Ascii(string text) => new([.. text.Select(c => c is >= ' ' and <= '~' ? c : '?')]);

    private static byte[] Json(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }
}
