using Hawser.Controller.Notifications;
using Hawser.Controller.Store;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>Which events a route sends where: kinds, areas, rollout states, nodes, labels, severity and a count within a window.</summary>
[TestClass]
public sealed class NotificationRoutingTests
{
    private static NotificationRouter Router(string routes)
    {
        using var directory = new TempDirectory();
        File.WriteAllText(Path.Combine(directory.Path, "s"), "0123456789abcdef0123456789abcdef");
        var path = Path.Combine(directory.Path, "n.yaml");
        File.WriteAllText(path, "receivers:\n  a: {webhook: http://127.0.0.1:9/a, secretFile: s}\n  b: {ntfy: http://127.0.0.1:9/b}\nroutes:\n" + routes);
        return new NotificationRouter(NotificationSettings.Load(path));
    }

    private static EventRecord Event(string kind, string node = "web1", string summary = "x") =>
        new() { Kind = kind, Actor = "controller", Node = node, Summary = summary, At = DateTimeOffset.UtcNow };

    private static Task<IReadOnlyList<string>> Receivers(NotificationRouter router, EventRecord record, Dictionary<string, string>? labels = null, long recent = 0) =>
        router.ReceiversAsync(record, _ => Task.FromResult<IReadOnlyDictionary<string, string>>(labels ?? []), _ => Task.FromResult(recent));

    [TestMethod]
    public async Task A_route_takes_its_kinds_areas_and_rollout_states_and_a_catch_all_skips_the_notifiers_own_events()
    {
        var router = Router("""
              failures: {to: [a], kinds: [node.failed, certificate]}
              paused: {to: [b], kinds: ["rollout.state=paused"]}
              everything: {to: [b], severity: warning}
            """);

        CollectionAssert.AreEqual(new[] { "a", "b" }, (await Receivers(router, Event("node.failed"))).ToArray());
        CollectionAssert.AreEqual(new[] { "a" }, (await Receivers(router, Event("certificate.issued"))).ToArray(), "an area; info is below the catch-all's warning");
        CollectionAssert.AreEqual(new[] { "b" }, (await Receivers(router, Event("rollout.state", "", "running -> paused: web2 failed its gate"))).ToArray());
        Assert.IsEmpty(await Receivers(router, Event("rollout.state", "", "paused -> running")));
        Assert.IsEmpty(await Receivers(router, Event("notification.undeliverable")), "the notifier's own events go only where a route names them");
        Assert.IsEmpty(await Receivers(router, Event("nodes.failed")), "node is an area, not a prefix of nodes");
    }

    [TestMethod]
    public async Task Nodes_labels_and_a_count_within_the_window_narrow_a_route()
    {
        var router = Router("""
              web: {to: [a], kinds: [node.failed], selector: role=web}
              named: {to: [b], kinds: [node.failed], nodes: [db1]}
              drift: {to: [b], kinds: [node.drift-corrected], atLeast: 3, within: 1h}
            """);

        CollectionAssert.AreEqual(new[] { "a" }, (await Receivers(router, Event("node.failed"), new() { ["role"] = "web" })).ToArray());
        Assert.IsEmpty(await Receivers(router, Event("node.failed"), new() { ["role"] = "db" }));
        CollectionAssert.AreEqual(new[] { "b" }, (await Receivers(router, Event("node.failed", "db1"))).ToArray());
        Assert.IsEmpty(await Receivers(router, Event("node.drift-corrected"), recent: 1), "the second in the hour");
        CollectionAssert.AreEqual(new[] { "b" }, (await Receivers(router, Event("node.drift-corrected"), recent: 2)).ToArray(), "the third");
    }

    [TestMethod]
    public void Every_mistake_in_the_file_is_named_with_its_line()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "n.yaml");
        File.WriteAllText(path, """
            receivers:
              a: {webhook: http://127.0.0.1:9/a}
              b: {ntfy: http://127.0.0.1:9/b, slack: http://127.0.0.1:9/c}
            routes:
              r: {to: [], kinds: [node.failed], within: 5}
            groupWindow: soon
            retries: 3
            """);

        var error = Assert.ThrowsExactly<InvalidDataException>(() => NotificationSettings.Load(path));

        StringAssert.Contains(error.Message, $"{path}:2:");
        StringAssert.Contains(error.Message, "receivers.a: a webhook needs secretFile");
        StringAssert.Contains(error.Message, "receivers.b: give exactly one of webhook, slack (also Mattermost) or ntfy");
        StringAssert.Contains(error.Message, "routes.r.to is required");
        StringAssert.Contains(error.Message, "within '5' has no unit");
        StringAssert.Contains(error.Message, "groupWindow 'soon' is not a duration");
        StringAssert.Contains(error.Message, "unknown setting 'retries'");
    }
}
