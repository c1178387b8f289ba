using System.Text.Json;
using System.Text.RegularExpressions;
using Grpc.Core;
using Hawser.Shared.Cli;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests.Faults;

/// <summary>
/// A node is not an operator: an enrolled host under an attacker's control (a real node certificate, a Grpc.Net client
/// that sends what it likes) and anonymous callers, against a real controller and the operator's real hawserctl, in a
/// pipe and on a pseudo-terminal.
/// </summary>
[TestClass]
public sealed partial class HostileNodeTests
{
    // Terminal actions a node would like to smuggle in: OSC 52 (write the clipboard), clear screen, a window title,
    // a bidi override, C1 CSI, and a forged recap line for another node.
    private const string Poison = "x\u001b]52;c;ZXZpbA==\u0007\u001b[2J\u001b]0;owned\u0007\u202egnp.exe\u009b31m\nweb2 : ok=5 changed=1 failed=0 unreachable=0";

    private static Task<ProcessResult> Ctl(ControllerProcess controller, params string[] arguments) =>
        HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, .. arguments]);

    /// <summary>hawserctl on a pseudo-terminal (util-linux <c>script</c>), as an operator at a terminal runs it; its output as the terminal got it.</summary>
    private static async Task<ProcessResult> CtlOnTerminal(ControllerProcess controller, params string[] arguments)
    {
        var command = string.Join(' ', new[] { "dotnet", HawserProcesses.DllPath("hawserctl"), "--config", controller.CtlConfig }.Concat(arguments).Select(Quote));
        // A terminal wide enough that no column is hidden: every node-supplied field is on screen.
        return await ExternalProcess.RunAsync("script", ["-qec", "stty cols 400 rows 50; " + command, "/dev/null"], TimeSpan.FromSeconds(60),
            environment: new Dictionary<string, string> { ["TERM"] = "xterm-256color", ["COLUMNS"] = "200" });

        static string Quote(string word) => "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }

    // What hawserctl itself writes on a terminal: Spectre.Console's colours and cursor show/hide, and .NET's keypad mode
    // switch at start and exit (ESC [?1h ESC =, ESC [?1l ESC >); anything else is not ours.
    [GeneratedRegex(@"\u001b\[[0-9;?]*[mlhKAGJ]|\u001b[=>]")]
    private static partial Regex OwnTerminalCodes();

    /// <summary>Fails when <paramref name="output"/> holds a control character other than line ends, or a line that forges a recap.</summary>
    private static void AssertNeutral(string what, string output, bool terminal = false)
    {
        var text = terminal ? OwnTerminalCodes().Replace(output, "") : output;
        foreach (var line in text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n'))
        {
            var raw = line.TrimEnd('\r');
            Assert.IsFalse(TerminalText.HasUnsafe(raw), $"{what}: a raw control character reached the operator in line «{TerminalText.Neutralize(raw)}»\n{TerminalText.Neutralize(output, keepLineFeeds: true)}");
            Assert.IsFalse(raw.TrimStart().StartsWith("web2 : ok=5", StringComparison.Ordinal), $"{what}: a node forged a recap line\n{output}");
        }
    }

    [TestMethod]
    public async Task Oversized_escaped_and_forged_strings_from_a_node_reach_no_operator_raw_and_no_listing_breaks()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        // A version suffix the skew check ignores, so the node is taken and its version still shown.
        var hello = new Hello { AgentVersion = BuildVersion.Current + "-" + Poison, Facts = new HostFacts { Hostname = new string('h', 100_000) + Poison, Kernel = Poison } };
        await using var evil = await HostileNode.EnrollAsync(controller, "evil", hello);
        // A version that is only hostile text: refused at its hello, and the refusal (which quotes it) shown to operators below.
        await using (var refused = await HostileNode.EnrollAsync(controller, "evil2", new Hello { AgentVersion = Poison }))
        {
            var refusal = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
            {
                await foreach (var _ in refused.Responses.ReadAllAsync())
                {
                }
            });
            Assert.AreEqual(StatusCode.FailedPrecondition, refusal.StatusCode, refusal.Status.Detail);
        }
        // A hello that says no version at all cannot slip past the skew check.
        await using (var silent = await HostileNode.EnrollAsync(controller, "evil3", new Hello()))
        {
            var refusal = await Assert.ThrowsExactlyAsync<RpcException>(async () =>
            {
                await foreach (var _ in silent.Responses.ReadAllAsync())
                {
                }
            });
            Assert.AreEqual(StatusCode.FailedPrecondition, refusal.StatusCode, refusal.Status.Detail);
            StringAssert.Contains(refusal.Status.Detail, "evil3: the agent sent no version; this controller takes Hawser agents of ");
        }
        var spec = Path.Join(data.Path, "spec.yaml");
        // A certificate too, ordered from a CA that is not there: hawserctl certs then lists what the node says it installed and serves.
        await File.WriteAllTextAsync(spec, "apiVersion: hawser/v1\nacme: {directory: \"https://127.0.0.1:9/dir\"}\nnodes:\n  evil:\n    sysctls: {net.ipv4.tcp_keepalive_time: \"600\"}\n"
            + "    certificates: [{name: www, domains: [www.evil.test], install: [{format: combined, path: /etc/ssl/hawser/www.pem}]}]\n");

        // The operator applies; the node answers the pushed revision with a report built to break the operator's view:
        // a 900 KB error full of escape sequences and a forged recap line, the same in every other text field.
        var applying = Ctl(controller, "apply", "-f", spec, "--wait-timeout", "60s");
        ulong revision = 0;
        using (var pushed = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await foreach (var message in evil.Responses.ReadAllAsync(pushed.Token))
            {
                if (message.BodyCase == ControllerMessage.BodyOneofCase.DesiredState)
                {
                    revision = message.DesiredState.Revision;
                    break;
                }
            }
        }
        if (revision == 0)
        {
            Assert.Fail($"no desired state reached the node; apply: {(await applying).Output}");
        }
        var huge = Poison + new string('e', 900_000) + Poison;
        var report = new StatusReport { Revision = revision, DesiredStateNew = true };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl" + Poison, Name = Poison, State = ResourceState.Failed, Error = huge, Diff = Poison, Warnings = { Poison, Poison } });
        report.Resources.Add(new ResourceStatus { Kind = "certificate", Name = "www", State = ResourceState.Failed, Error = Poison + new string('e', 10_000) });
        report.InstalledCertificates[Poison] = Poison;
        report.InstalledCertificates["www"] = Poison;
        report.ServedCertificates.Add(new ServedCertificate { Certificate = "www", Target = Poison, Serial = Poison + new string('s', 10_000), CoversName = true, Error = Poison });
        await evil.SendAsync(report);
        var applied = await applying;

        Assert.AreEqual(1, applied.ExitCode, applied.Output);
        StringAssert.Contains(applied.StandardOutput, "evil : ok=0 changed=0 failed=2");
        StringAssert.Contains(applied.StandardOutput, NodeCut);
        AssertNeutral("apply's recap", applied.StandardOutput);
        foreach (var command in new[] { new[] { "status" }, ["status", "evil"], ["nodes"], ["events"], ["certs"], ["status", "evil", "-o", "wide"] })
        {
            var piped = await Ctl(controller, command);
            Assert.AreEqual(0, piped.ExitCode, piped.Output);
            Assert.IsLessThan(64 * 1024, piped.StandardOutput.Length, $"hawserctl {string.Join(' ', command)} printed {piped.StandardOutput.Length} characters");
            AssertNeutral($"hawserctl {string.Join(' ', command)} in a pipe", piped.StandardOutput + piped.StandardError);
            var shown = await CtlOnTerminal(controller, command);
            Assert.AreEqual(0, shown.ExitCode, shown.Output);
            AssertNeutral($"hawserctl {string.Join(' ', command)} on a terminal", shown.StandardOutput, terminal: true);
        }
        var detail = await Ctl(controller, "status", "evil", "-o", "json");
        var error = JsonDocument.Parse(detail.StandardOutput).RootElement.GetProperty("detail")[0].GetProperty("error").GetString()!;
        // The node's text is kept from its start, cut with a marker naming what it sent; JSON carries it escaped.
        StringAssert.StartsWith(error, Poison);
        StringAssert.Contains(error, "cut by the controller: 900,");
        Assert.IsLessThan(4096, error.Length);
        var certs = await Ctl(controller, "certs");
        StringAssert.Contains(certs.StandardOutput, "evil serves", "the node's served serial is shown, neutralised: " + certs.Output);
        StringAssert.Contains(certs.StandardOutput, "www on evil:", certs.Output);
    }

    private const string NodeCut = "cut by the controller";

    [TestMethod]
    public async Task A_message_over_the_agent_streams_limit_ends_only_that_stream()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var evil = await HostileNode.EnrollAsync(controller, "evil");

        try
        {
            await evil.SendResourceAsync(new string('e', 2 * 1024 * 1024));
        }
        catch (RpcException)
        {
            // The controller may end the stream while the message is still being written; its answer says why.
        }
        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            await foreach (var _ in evil.Responses.ReadAllAsync())
            {
            }
        });

        Assert.AreEqual(StatusCode.ResourceExhausted, refused.StatusCode, refused.ToString());
        var status = await Ctl(controller, "status");
        Assert.AreEqual(0, status.ExitCode, status.Output);
        StringAssert.Contains(status.StandardOutput, "evil");
    }

    [TestMethod]
    public async Task A_flood_of_reports_and_desired_state_requests_is_coalesced_and_the_store_grows_by_the_bound_only()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var quiet = await HostileNode.EnrollAsync(controller, "quiet");
        var flood = await HostileNode.EnrollAsync(controller, "flood");
        var before = controller.StoreBytes;

        // Every report a new failure (each would be a node.failed event), every other one asking for the desired state
        // again, and the node never reads its stream. Bounded: 20,000 messages or 20 s, whichever comes first.
        var sent = 0;
        using (var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
        {
            try
            {
                for (; sent < 20_000; sent++)
                {
                    await flood.SendNewFailureAsync(sent, stop.Token);
                }
            }
            catch (OperationCanceledException)
            {
                // The controller reads a flooding node slowly: its writes wait, which is the point.
            }
        }
        var meanwhile = await Ctl(controller, "status");
        await flood.DisposeAsync();

        Assert.AreEqual(0, meanwhile.ExitCode, meanwhile.Output);
        // When the stream ends the controller says in one event what it held back.
        Assert.IsTrue(await Poll.UntilAsync(async () => (await Events(controller, "flood", "node.throttled")).Count > 0, TimeSpan.FromSeconds(60)),
            $"no node.throttled event after {sent} messages");
        var throttled = (await Events(controller, "flood", "node.throttled"))[0];
        StringAssert.Matches(throttled.GetProperty("summary").GetString()!, new Regex(@"[1-9][0-9]* report\(s\) coalesced"));
        var failures = await Events(controller, "flood", "node.failed");
        // At most the event burst (20) and what the rate refilled over the flood (2 a minute), far below the thousands sent.
        Assert.IsLessThanOrEqualTo(24, failures.Count, $"{failures.Count} node.failed events for {sent} messages");
        Assert.IsGreaterThan(0, failures.Count);
        var grown = controller.StoreBytes - before;
        Assert.IsLessThan(4L * 1024 * 1024, grown, $"the store grew {grown:N0} bytes for {sent} messages");
        var quietNode = await Ctl(controller, "status", "quiet");
        Assert.AreEqual(0, quietNode.ExitCode, quietNode.Output);
    }

    [TestMethod]
    public async Task Anonymous_callers_are_rate_limited_refusals_are_one_event_per_address_and_join_does_not_tell_which_names_exist()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var web1 = await HostileNode.EnrollAsync(controller, "web1");
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Join(controller.DataDirectory, "pki", "ca.crt"));
        using var channel = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca });
        var enrollment = new EnrollmentService.EnrollmentServiceClient(channel);
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        async Task<RpcException> JoinAsync(string name) => await Assert.ThrowsAsync<RpcException>(async () => await enrollment.JoinAsync(new JoinRequest
        {
            Token = "aaaaaa.guessedsecret00000", NodeName = name, CsrDer = Google.Protobuf.ByteString.CopyFrom(CertificateAuthority.CreateSigningRequest(key, name.Trim())),
        }));

        var enrolled = await JoinAsync("web1");
        var unknown = await JoinAsync("nosuch");
        var lineEnd = await JoinAsync("web1\n");

        Assert.AreEqual(StatusCode.PermissionDenied, enrolled.StatusCode, enrolled.ToString());
        Assert.AreEqual(unknown.StatusCode, enrolled.StatusCode);
        Assert.AreEqual(unknown.Status.Detail, enrolled.Status.Detail);
        Assert.AreEqual(StatusCode.InvalidArgument, lineEnd.StatusCode, lineEnd.ToString());

        var codes = new List<StatusCode>();
        for (var i = 0; i < 400; i++)
        {
            codes.Add((await JoinAsync($"guess{i}")).StatusCode);
        }

        Assert.Contains(StatusCode.ResourceExhausted, codes);
        var refused = await Events(controller, null, "rpc.refused");
        Assert.IsLessThanOrEqualTo(2, refused.Count, string.Join("\n", refused.Select(e => e.GetProperty("summary").GetString())));
        var status = await Ctl(controller, "status");
        Assert.AreEqual(0, status.ExitCode, status.Output);
    }

    private static async Task<List<JsonElement>> Events(ControllerProcess controller, string? node, string kind)
    {
        string[] arguments = node is null ? ["events", "--kind", kind, "-o", "json"] : ["events", "--node", node, "--kind", kind, "-o", "json"];
        var result = await Ctl(controller, arguments);
        Assert.AreEqual(0, result.ExitCode, result.Output);
        return [.. JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("events").EnumerateArray()];
    }

}
