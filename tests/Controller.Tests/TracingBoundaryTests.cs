using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>
/// A node's converge spans cross the controller's trust boundary: they join only the trace of the push the node was sent,
/// never one the node names, and a flood of them is cut to the bound. A real controller exporting to an OTLP/HTTP
/// receiver the test runs; the node is an enrolled node driven by the test.
/// </summary>
[TestClass]
public sealed class TracingBoundaryTests
{
    private const string Forged = "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01";

    private static StatusReport Flood(ulong revision, string traceParent)
    {
        var report = new StatusReport { Revision = revision, DesiredStateNew = true, TraceParent = traceParent, FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
        var now = DateTimeOffset.UtcNow;
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.core.somaxconn", State = ResourceState.Changed });
        for (var i = 0; i < 2000; i++)
        {
            report.Spans.Add(new ConvergeSpan
            {
                Name = i == 0 ? "converge" : $"sysctl:{new string('x', 400)}{i}", Outcome = "changed",
                Start = Timestamp.FromDateTimeOffset(now.AddSeconds(-1)), End = Timestamp.FromDateTimeOffset(now),
            });
        }
        return report;
    }

    [TestMethod]
    public async Task Spans_join_only_the_pushed_trace_and_a_flood_of_them_is_cut_to_the_bound()
    {
        using var data = new TempDirectory();
        using var otlp = OtlpReceiver.Start();
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--otlp-endpoint", otlp.Url);
        await using var node = await HostileNode.EnrollAsync(controller, "web1");

        // Spans under a trace the controller never pushed to it.
        await node.SendAsync(Flood(0, Forged));
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, "apiVersion: hawser/v1\nnodes:\n  web1:\n    sysctls: {net.core.somaxconn: \"1024\"}\n");
        var applied = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec, "--trace", "--no-wait"]);
        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        var trace = applied.StandardOutput.Split('\n').Single(l => l.StartsWith("trace ", StringComparison.Ordinal)).Split(' ')[1];
        DesiredState? pushed = null;
        while (pushed is null && await node.Responses.MoveNext())
        {
            pushed = node.Responses.Current.DesiredState;
        }
        Assert.IsNotNull(pushed);
        StringAssert.Contains(pushed.TraceParent, trace);
        await node.SendAsync(Flood(pushed.Revision, pushed.TraceParent));

        List<ReceivedSpan> spans = [];
        Assert.IsTrue(await Poll.UntilAsync(() =>
        {
            spans = [.. otlp.Spans];
            return spans.Any(s => s.Name == "converge web1");
        }, TimeSpan.FromSeconds(60)), string.Join("\n", otlp.Spans.Select(s => $"{s.TraceId} {s.Name}")));

        Assert.IsFalse(spans.Any(s => s.TraceId == Forged.Split('-')[1]), "spans joined a trace the node named itself");
        var converge = spans.Single(s => s.Name == "converge web1");
        Assert.AreEqual(trace, converge.TraceId);
        var resources = spans.Where(s => s.ParentSpanId == converge.SpanId).ToList();
        Assert.HasCount(Controller.Sessions.NodeInputBounds.MaxSpans - 1, resources, "the flood is cut to the bound");
        Assert.IsTrue(resources.All(r => r.Name.Length <= 400), resources.Max(r => r.Name.Length).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }
}
