using System.Collections.Concurrent;
using System.Net;
using Google.Protobuf;

namespace Hawser.TestSupport;

/// <summary>One span as an OTLP exporter sent it: its service, ids (hex), name, attributes, status and times (Unix ns).</summary>
public sealed record ReceivedSpan(string Service, string TraceId, string SpanId, string ParentSpanId, string Name,
    IReadOnlyDictionary<string, string> Attributes, int StatusCode, string StatusMessage, ulong Start, ulong End);

/// <summary>
/// An OTLP/HTTP trace receiver a test starts on a loopback port (no collector is served here): it takes
/// <c>POST /v1/traces</c> in protobuf and decodes the ExportTraceServiceRequest by the field numbers of OpenTelemetry's
/// proto definitions (opentelemetry/proto/collector/trace/v1, trace/v1, common/v1, resource/v1), reading only what tests check.
/// </summary>
public sealed class OtlpReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpReceiver(int port)
    {
        Url = $"http://127.0.0.1:{port}/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _ = HttpListenerLoop.ServeAsync(_listener, (path, _, body) =>
        {
            if (path != "/v1/traces")
            {
                return 404;
            }
            foreach (var span in ReadRequest(body))
            {
                _spans.Enqueue(span);
            }
            return 200;
        });
    }

    /// <summary>The base URL (exporters post to URL/v1/traces).</summary>
    public string Url { get; }

    /// <summary>Every span received so far.</summary>
    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    /// <summary>A receiver on a free port.</summary>
    public static OtlpReceiver Start() => new(AgentFleet.FreePort());

    // ExportTraceServiceRequest: 1 resource_spans.
    private static List<ReceivedSpan> ReadRequest(byte[] body)
    {
        var spans = new List<ReceivedSpan>();
        Read(ByteString.CopyFrom(body), (field, input) =>
        {
            if (field == 1)
            {
                ReadResourceSpans(input.ReadBytes(), spans);
                return true;
            }
            return false;
        });
        return spans;
    }

    // ResourceSpans: 1 resource (1 attributes), 2 scope_spans (2 spans).
    private static void ReadResourceSpans(ByteString bytes, List<ReceivedSpan> spans)
    {
        var service = "";
        var scopes = new List<ByteString>();
        Read(bytes, (field, input) =>
        {
            switch (field)
            {
                case 1:
                    Read(input.ReadBytes(), (f, i) =>
                    {
                        if (f != 1)
                        {
                            return false;
                        }
                        var (key, value) = ReadKeyValue(i.ReadBytes());
                        service = key == "service.name" ? value : service;
                        return true;
                    });
                    return true;
                case 2:
                    scopes.Add(input.ReadBytes());
                    return true;
                default:
                    return false;
            }
        });
        foreach (var scope in scopes)
        {
            Read(scope, (field, input) =>
            {
                if (field != 2)
                {
                    return false;
                }
                spans.Add(ReadSpan(service, input.ReadBytes()));
                return true;
            });
        }
    }

    // Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 7 start, 8 end (fixed64 ns), 9 attributes, 15 status (2 message, 3 code).
    private static ReceivedSpan ReadSpan(string service, ByteString bytes)
    {
        string trace = "", id = "", parent = "", name = "", message = "";
        ulong start = 0, end = 0;
        var code = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        Read(bytes, (field, input) =>
        {
            switch (field)
            {
                case 1: trace = Convert.ToHexStringLower(input.ReadBytes().Span); return true;
                case 2: id = Convert.ToHexStringLower(input.ReadBytes().Span); return true;
                case 4: parent = Convert.ToHexStringLower(input.ReadBytes().Span); return true;
                case 5: name = input.ReadString(); return true;
                case 7: start = input.ReadFixed64(); return true;
                case 8: end = input.ReadFixed64(); return true;
                case 9:
                    var (key, value) = ReadKeyValue(input.ReadBytes());
                    attributes[key] = value;
                    return true;
                case 15:
                    Read(input.ReadBytes(), (f, i) =>
                    {
                        switch (f)
                        {
                            case 2: message = i.ReadString(); return true;
                            case 3: code = i.ReadEnum(); return true;
                            default: return false;
                        }
                    });
                    return true;
                default:
                    return false;
            }
        });
        return new ReceivedSpan(service, trace, id, parent, name, attributes, code, message, start, end);
    }

    // KeyValue: 1 key, 2 value (AnyValue: 1 string, 2 bool, 3 int64, 4 double).
    private static (string Key, string Value) ReadKeyValue(ByteString bytes)
    {
        string key = "", value = "";
        Read(bytes, (field, input) =>
        {
            switch (field)
            {
                case 1: key = input.ReadString(); return true;
                case 2:
                    Read(input.ReadBytes(), (f, i) =>
                    {
                        switch (f)
                        {
                            case 1: value = i.ReadString(); return true;
                            case 2: value = i.ReadBool() ? "true" : "false"; return true;
                            case 3: value = i.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture); return true;
                            case 4: value = i.ReadDouble().ToString(System.Globalization.CultureInfo.InvariantCulture); return true;
                            default: return false;
                        }
                    });
                    return true;
                default:
                    return false;
            }
        });
        return (key, value);
    }

    /// <summary>Reads each field of a message; <paramref name="field"/> returns false for one it does not read (skipped).</summary>
    private static void Read(ByteString bytes, Func<int, CodedInputStream, bool> field)
    {
        var input = new CodedInputStream(bytes.ToByteArray());
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (!field(WireFormat.GetTagFieldNumber(tag), input))
            {
                input.SkipLastField();
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _listener.Close();
}
