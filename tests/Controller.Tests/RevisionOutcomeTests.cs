using Hawser.Controller.Sessions;
using Hawser.Controller.Store;

namespace Hawser.Controller.Tests;

/// <summary>
/// Issue 29, item 7: a first converge that waits for a certificate the controller is obtaining is not a failure in the
/// events, and the revision's outcome counts what all its rounds changed, not only the round that installed the certificate.
/// </summary>
[TestClass]
public sealed class RevisionOutcomeTests
{
    private static readonly ResourceReport Waiting = new("certificate", "www", ResourceOutcome.Failed,
        "", "no PEM material: under the controller, the controller supplies it once it has obtained the certificate", []);

    private static NodeReport Report(bool desiredStateNew, params ResourceReport[] resources) =>
        new(4, false, DateTimeOffset.UtcNow, resources, new Dictionary<string, string>(), desiredStateNew);

    private static ResourceReport Sysctl(ResourceOutcome state) =>
        new("sysctl", "net.ipv4.tcp_keepalive_time", state, state == ResourceOutcome.Changed ? "/proc/sys/net/ipv4/tcp_keepalive_time: 7200 -> 600" : "", "", []);

    private static ResourceReport Installed(ResourceOutcome state) => new("certificate", "www", state, state == ResourceOutcome.Changed ? "serial -> 4F5D" : "", "", []);

    [TestMethod]
    public void A_round_that_waits_for_a_certificate_is_a_converge_that_says_so_not_a_failure()
    {
        var events = ReportEvents.Of("web1", null, Report(true, Sysctl(ResourceOutcome.Changed), Waiting), driftCorrected: false);

        var converged = events.Single();
        Assert.AreEqual("node.converged", converged.Kind);
        Assert.AreEqual("revision 4 converged: 1 changed, 0 failed, 0 in sync, 1 waiting for a certificate", converged.Summary);
        CollectionAssert.Contains(converged.Details.ToList(), "certificate:www waiting for the controller to obtain it");
    }

    [TestMethod]
    public void The_outcome_after_an_unfinished_round_keeps_what_that_round_changed()
    {
        var first = Report(true, Sysctl(ResourceOutcome.Changed), Waiting);
        var second = Report(true, Sysctl(ResourceOutcome.InSync), Installed(ResourceOutcome.Changed));

        var outcome = second.AfterUnfinished(first);

        Assert.AreEqual(2, outcome.Count(ResourceOutcome.Changed), "the sysctl the first round set, and the certificate");
        Assert.AreEqual("/proc/sys/net/ipv4/tcp_keepalive_time: 7200 -> 600", outcome.Resources.Single(r => r.Kind == "sysctl").Diff);
        // A finished outcome is not carried into the next one (a renewal weeks later changes only the certificate).
        var renewal = Report(true, Sysctl(ResourceOutcome.InSync), Installed(ResourceOutcome.Changed));
        Assert.AreEqual(1, renewal.AfterUnfinished(outcome).Count(ResourceOutcome.Changed));
        // Nor is another revision's.
        Assert.AreEqual(1, (second with { Revision = 5 }).AfterUnfinished(first).Count(ResourceOutcome.Changed));
    }
}
