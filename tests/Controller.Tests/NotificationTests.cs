using System.Text.Json;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>
/// Notifications through the outbox, against real controllers (one on SQLite, two on a real PostgreSQL) and the operator's
/// real hawserctl: a node's failure (its report sent by a scripted enrolled node) reaches an HTTP receiver the test runs
/// (a stand-in for a chat service or an incident tool: none is served here) signed, once, also when the receiver was down
/// or the controller was killed before it sent; repeats are grouped; given up on after the retry period, with an event.
/// </summary>
[TestClass]
public sealed class NotificationTests
{
    private const string Secret = "0123456789abcdef0123456789abcdef";

    /// <summary>Writes the notifications file (and the webhook's secret beside it); returns its path.</summary>
    private static string Settings(TempDirectory directory, string yaml)
    {
        File.WriteAllText(Path.Combine(directory.Path, "oncall.secret"), Secret + "\n");
        var path = Path.Combine(directory.Path, "notifications.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>The receiver <paramref name="name"/> as <c>hawserctl notifications -o json</c> lists it.</summary>
    private static async Task<JsonElement> Receiver(ControllerProcess controller, string name = "oncall")
    {
        var listed = await Ctl(controller, "notifications", "-o", "json");
        Assert.AreEqual(0, listed.ExitCode, listed.Output);
        return JsonDocument.Parse(listed.StandardOutput).RootElement.GetProperty("receivers").EnumerateArray()
            .Single(r => r.GetProperty("name").GetString() == name).Clone();
    }

    private static async Task<bool> DeliveredAsync(ControllerProcess controller, int delivered) =>
        await Receiver(controller) is var r && r.GetProperty("delivered").GetUInt64() == (ulong)delivered && r.GetProperty("pending").GetUInt64() == 0;

    private static string Webhook(WebhookReceiver receiver, string extra = "") => $$"""
        receivers:
          oncall: {webhook: {{receiver.Url()}}, secretFile: oncall.secret}
        routes:
          failures: {to: [oncall], kinds: [node.failed]}
        firstRetry: 1s
        maxRetryWait: 2s
        {{extra}}
        """;

    [TestMethod]
    public async Task A_node_failure_is_one_signed_notification_delivered_late_and_once_when_the_receiver_was_down()
    {
        using var data = new TempDirectory();
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start(up: false);
        var file = Settings(config, Webhook(receiver));
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--notifications", file);
        await using var node = await HostileNode.EnrollAsync(controller, "web1");

        await node.SendResourceAsync("disk full", ResourceState.Failed);

        // The operator sees the attempts fail while the receiver is down, and why.
        Assert.IsTrue(await Poll.UntilAsync(async () => (await Receiver(controller)).GetProperty("failedAttempts").GetUInt64() >= 2, TimeSpan.FromSeconds(60)),
            (await Receiver(controller)).ToString());
        var down = await Receiver(controller);
        Assert.AreEqual(1UL, down.GetProperty("pending").GetUInt64(), down.ToString());
        StringAssert.Contains(down.GetProperty("lastError").GetString(), "refused", down.ToString());
        receiver.Up();
        Assert.IsTrue(await Poll.UntilAsync(() => DeliveredAsync(controller, 1), TimeSpan.FromSeconds(60)), (await Receiver(controller)).ToString());

        var request = receiver.Requests.Single();
        Assert.IsTrue(request.SignedWith(Secret), $"the signature does not verify: {request.Header("X-Hawser-Signature")}");
        Assert.IsFalse(request.SignedWith("another secret of 32 characters"));
        var body = request.Json;
        Assert.AreEqual("node.failed", body.GetProperty("kind").GetString());
        Assert.AreEqual("web1", body.GetProperty("node").GetString());
        Assert.AreEqual("error", body.GetProperty("severity").GetString());
        Assert.AreEqual(1, body.GetProperty("count").GetInt32());
        StringAssert.Contains(string.Join("\n", body.GetProperty("details").EnumerateArray().Select(d => d.GetString())), "disk full", request.Text);
        Assert.AreEqual(body.GetProperty("id").GetString(), request.Header("Idempotency-Key"));
        var listed = await Ctl(controller, "notifications");
        StringAssert.Matches(listed.StandardOutput, new System.Text.RegularExpressions.Regex(@"oncall\s+webhook\s+http://127\.0\.0\.1:\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+1\s+0\s+[1-9]"), listed.Output);
    }

    [TestMethod]
    public async Task A_notification_committed_before_the_controller_was_killed_is_sent_after_its_restart()
    {
        using var data = new TempDirectory();
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start(up: false);
        var file = Settings(config, Webhook(receiver));
        var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--notifications", file);
        try
        {
            await using (var node = await HostileNode.EnrollAsync(controller, "web1"))
            {
                await node.SendResourceAsync("disk full", ResourceState.Failed);
                Assert.IsTrue(await Poll.UntilAsync(async () => (await Receiver(controller)).GetProperty("pending").GetUInt64() == 1, TimeSpan.FromSeconds(60)));
            }
            Signals.Kill(controller.Pid);
            await controller.DisposeAsync();
            Assert.IsEmpty(receiver.Requests, "sent before the kill");

            receiver.Up();
            controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--notifications", file);

            Assert.IsTrue(await Poll.UntilAsync(() => DeliveredAsync(controller, 1), TimeSpan.FromSeconds(60)), (await Receiver(controller)).ToString());
            var request = receiver.Requests.Single();
            Assert.IsTrue(request.SignedWith(Secret));
            Assert.AreEqual("web1", request.Json.GetProperty("node").GetString());
        }
        finally
        {
            await controller.DisposeAsync();
        }
    }

    [TestMethod]
    public async Task Repeats_within_the_window_go_out_as_one_message_and_each_format_takes_a_test_notification()
    {
        using var data = new TempDirectory();
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start();
        var file = Settings(config, Webhook(receiver, "groupWindow: 15s").Replace("receivers:\n", $"receivers:\n  chat: {{slack: {receiver.Url("chat")}}}\n  phone: {{ntfy: {receiver.Url("ntfy")}}}\n", StringComparison.Ordinal));
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--notifications", file);

        var chat = await Ctl(controller, "notifications", "test", "chat");
        var phone = await Ctl(controller, "notifications", "test", "phone");
        var unknown = await Ctl(controller, "notifications", "test", "pager");

        Assert.AreEqual(0, chat.ExitCode, chat.Output);
        StringAssert.Contains(chat.StandardOutput, "chat took the test notification");
        var slack = receiver.Requests.Single(r => r.Path == "/chat");
        StringAssert.Contains(slack.Json.GetProperty("text").GetString(), "notification.test", slack.Text);
        Assert.AreEqual(0, phone.ExitCode, phone.Output);
        var ntfy = receiver.Requests.Single(r => r.Path == "/ntfy");
        Assert.AreEqual("hawser: notification.test", ntfy.Header("Title"));
        StringAssert.Contains(ntfy.Text, "if you read this, phone works");
        Assert.AreNotEqual(0, unknown.ExitCode, unknown.Output);
        StringAssert.Contains(unknown.Output, "no receiver 'pager' in the notifications file (receivers: chat, oncall, phone)");

        await using var node = await HostileNode.EnrollAsync(controller, "web1");
        await node.SendResourceAsync("first failure", ResourceState.Failed);
        Assert.IsTrue(await Poll.UntilAsync(() => receiver.Requests.Any(r => r.Path == "/hook"), TimeSpan.FromSeconds(60)));
        // Three more failures of the same node within the window: held, then one message.
        foreach (var failure in new[] { "second failure", "third failure", "fourth failure" })
        {
            await node.SendResourceAsync(failure, ResourceState.Failed);
        }
        Assert.IsTrue(await Poll.UntilAsync(async () => (await Receiver(controller)).GetProperty("pending").GetUInt64() == 0
            && receiver.Requests.Count(r => r.Path == "/hook") == 2, TimeSpan.FromSeconds(90)), (await Receiver(controller)).ToString());

        var hooks = receiver.Requests.Where(r => r.Path == "/hook").Select(r => r.Json).ToList();
        Assert.AreEqual(1, hooks[0].GetProperty("count").GetInt32());
        var grouped = hooks[1];
        var events = await Ctl(controller, "events", "--kind", "node.failed", "-o", "json");
        var failed = JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").GetArrayLength();
        // Every node.failed after the first is in the one grouped message (a report coalesced by the controller's budget is no event).
        Assert.AreEqual(failed - 1, grouped.GetProperty("count").GetInt32(), grouped.ToString());
        Assert.AreEqual(grouped.GetProperty("count").GetInt32() - 1, grouped.GetProperty("repeats").GetArrayLength(), grouped.ToString());
    }

    [TestMethod]
    public async Task A_notification_not_taken_within_the_retry_period_is_undeliverable_and_said_in_an_event()
    {
        using var data = new TempDirectory();
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start(up: false);
        var file = Settings(config, Webhook(receiver, "retryFor: 3s"));
        await using var controller = await ControllerProcess.StartAsync(data.Path, "127.0.0.1:0", null, "--notifications", file);
        await using var node = await HostileNode.EnrollAsync(controller, "web1");

        await node.SendResourceAsync("disk full", ResourceState.Failed);

        Assert.IsTrue(await Poll.UntilAsync(async () => (await Receiver(controller)).GetProperty("undeliverable").GetUInt64() == 1, TimeSpan.FromSeconds(60)));
        var events = await Ctl(controller, "events", "--kind", "notification", "-o", "json");
        var said = JsonDocument.Parse(events.StandardOutput).RootElement.GetProperty("events").EnumerateArray().Single();
        Assert.AreEqual("notification.undeliverable", said.GetProperty("kind").GetString());
        StringAssert.Contains(said.GetProperty("summary").GetString(), "1 notification(s) of node.failed to oncall given up after 3s: ");
        Assert.AreEqual(0UL, (await Receiver(controller)).GetProperty("pending").GetUInt64());
    }

    [TestMethod]
    public async Task Without_notifications_nothing_is_written_to_the_outbox_and_the_cli_says_they_are_off()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var node = await HostileNode.EnrollAsync(controller, "web1");

        await node.SendResourceAsync("disk full", ResourceState.Failed);
        Assert.IsTrue(await Poll.UntilAsync(async () =>
            JsonDocument.Parse((await Ctl(controller, "events", "--kind", "node.failed", "-o", "json")).StandardOutput).RootElement.GetProperty("events").GetArrayLength() == 1,
            TimeSpan.FromSeconds(60)));

        var listed = await Ctl(controller, "notifications");
        Assert.AreEqual(0, listed.ExitCode, listed.Output);
        StringAssert.Contains(listed.StandardOutput, "notifications are off: start the controller with --notifications FILE");
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(data.Path, "controller.db")};Mode=ReadOnly");
        connection.Open();
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM notification_outbox";
        Assert.AreEqual(0L, (long)count.ExecuteScalar()!);
    }

    [TestMethod]
    public async Task A_wrong_notifications_file_stops_the_controller_at_start_naming_the_file_and_line()
    {
        using var config = new TempDirectory();
        var file = Settings(config, """
            receivers:
              oncall: {webhook: https://hooks.example.org/x, secretFile: oncall.secret}
              chat: {slack: ftp://chat.example.org/hook}
            routes:
              failures: {to: [oncall, pager], kinds: [node.failed, "Node failed"], severity: urgent}
            """);

        var run = await HawserProcesses.RunAsync("hawser-controller", ["run", "--data", config.Path, "--notifications", file]);

        Assert.AreEqual(64, run.ExitCode, run.Output);
        StringAssert.Contains(run.StandardError, $"{file}:3:");
        StringAssert.Contains(run.StandardError, "receivers.chat.slack 'ftp://chat.example.org/hook' must be an http:// or https:// URL");
        StringAssert.Contains(run.StandardError, "routes.failures.to names 'pager', which is not a receiver (known: oncall)");
        StringAssert.Contains(run.StandardError, "'Node failed' is not a kind");
        StringAssert.Contains(run.StandardError, "routes.failures.severity 'urgent' must be info, warning or error");
        Assert.DoesNotContain("   at ", run.Output);
    }

    [TestMethod]
    public async Task Two_controllers_on_postgresql_deliver_each_notification_once()
    {
        using var config = new TempDirectory();
        using var receiver = WebhookReceiver.Start();
        var file = Settings(config, Webhook(receiver));
        await using var cluster = await ControllerCluster.StartAsync(2, "--notifications", file);
        await using var node = await HostileNode.EnrollAsync(cluster[1], "web1");

        await node.SendResourceAsync("disk full", ResourceState.Failed);

        // Marked delivered in the shared outbox as both controllers list it: neither sends it again.
        Assert.IsTrue(await Poll.UntilAsync(async () => await DeliveredAsync(cluster[0], 1) && await DeliveredAsync(cluster[1], 1), TimeSpan.FromSeconds(60)),
            (await Receiver(cluster[0])).ToString());
        var request = receiver.Requests.Single();
        Assert.IsTrue(request.SignedWith(Secret));
        Assert.AreEqual("web1", request.Json.GetProperty("node").GetString());
    }
}
