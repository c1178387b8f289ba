using System.Text.RegularExpressions;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Traces of an apply: <c>hawserctl apply --trace</c> starts a W3C trace, the controller (with --otlp-endpoint) exports its
/// request, validate, store and push spans, and each real agent's converge of the pushed revision, resource by resource,
/// to an OTLP/HTTP receiver the test runs (no collector is served here); one trace, each span under the right parent.
/// </summary>
[TestClass]
public sealed partial class TracingTests
{
    [GeneratedRegex(@"^trace ([0-9a-f]{32}) \(traceparent 00-\1-([0-9a-f]{16})-01\)$", RegexOptions.Multiline)]
    private static partial Regex TraceLine();

    [TestMethod]
    public async Task One_trace_holds_the_apply_the_push_and_each_agents_converge_with_its_resources_each_under_its_parent()
    {
        using var otlp = OtlpReceiver.Start();
        await using var fleet = await AgentFleet.StartAsync(["web3", "web4"], RolloutScenario.PrepareHost, "--otlp-endpoint", otlp.Url);

        var applied = await fleet.ApplyAsync("v1.yaml", RolloutScenario.V1, "--trace");

        Assert.AreEqual(0, applied.ExitCode, applied.Output);
        var line = TraceLine().Match(applied.StandardOutput);
        Assert.IsTrue(line.Success, applied.Output);
        var (trace, root) = (line.Groups[1].Value, line.Groups[2].Value);
        List<ReceivedSpan> spans = [];
        Assert.IsTrue(await Poll.UntilAsync(() =>
        {
            spans = [.. otlp.Spans.Where(s => s.TraceId == trace)];
            return spans.Count(s => s.Name.StartsWith("converge ", StringComparison.Ordinal)) == 2
                && spans.Any(s => s.Name == "push") && spans.Any(s => s.ParentSpanId == root);
        }, TimeSpan.FromSeconds(60)), Describe(otlp.Spans));

        // The controller's request span is the child of hawserctl's; validate, store and push are its children.
        var request = spans.Single(s => s.ParentSpanId == root);
        Assert.AreEqual("hawser-controller", request.Service);
        StringAssert.Contains(request.Name, "ApplySpec", Describe(spans));
        foreach (var step in new[] { "validate", "store", "push" })
        {
            Assert.AreEqual(request.SpanId, spans.Single(s => s.Name == step).ParentSpanId, $"{step}\n{Describe(spans)}");
        }
        var push = spans.Single(s => s.Name == "push");
        foreach (var node in new[] { "web3", "web4" })
        {
            var converge = spans.Single(s => s.Name == $"converge {node}");
            Assert.AreEqual(push.SpanId, converge.ParentSpanId, $"{node}'s converge answers the push\n{Describe(spans)}");
            Assert.AreEqual(node, converge.Attributes["hawser.node"]);
            var resources = spans.Where(s => s.ParentSpanId == converge.SpanId).ToList();
            Assert.IsTrue(resources.Any(r => r.Name == "sysctl:net.ipv4.tcp_keepalive_time" && r.Attributes["hawser.outcome"] == "changed"), $"{node}\n{Describe(spans)}");
            Assert.IsTrue(resources.All(r => r.Start >= converge.Start && r.End <= converge.End && r.Start <= r.End), $"{node}'s resources within its converge\n{Describe(spans)}");
        }
    }

    private static string Describe(IEnumerable<ReceivedSpan> spans) =>
        string.Join("\n", spans.Select(s => $"{s.Service} {s.TraceId} {s.SpanId} <- {s.ParentSpanId} {s.Name} {string.Join(",", s.Attributes.Select(a => $"{a.Key}={a.Value}"))}"));
}
