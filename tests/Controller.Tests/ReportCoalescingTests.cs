using Google.Protobuf.WellKnownTypes;
using Hawser.Shared.Protocol.V1;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>
/// A node's reports beyond its budget are coalesced (the newest kept), but what a pushed revision changed is the
/// revision's outcome, which the apply's recap reads: a later round that changed nothing must not replace it.
/// A real controller and a scripted node (a real enrolled node certificate, its stream driven by the test).
/// </summary>
[TestClass]
public sealed class ReportCoalescingTests
{
    [TestMethod]
    public async Task The_converge_of_a_pushed_revision_stays_its_outcome_when_a_later_round_is_coalesced_with_it()
    {
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path);
        await using var node = await HostileNode.EnrollAsync(controller, "web1");
        using var channel = controller.Channel();
        var control = new ControlService.ControlServiceClient(channel);

        // More rounds than the report burst (20): the controller stores the next report only when its budget refills
        // (2 a second), so the two that follow wait together, and the later replaces the earlier as the newest.
        for (var round = 0; round < 25; round++)
        {
            await node.SendAsync(Report(ResourceState.InSync, resources: 1, desiredStateNew: false));
        }
        await node.SendAsync(Report(ResourceState.Changed, resources: 2, desiredStateNew: true));
        await node.SendAsync(Report(ResourceState.InSync, resources: 3, desiredStateNew: false));

        Node? stored = null;
        Assert.IsTrue(await Poll.UntilAsync(async () =>
        {
            stored = await control.GetNodeAsync(new GetNodeRequest { Name = "web1" });
            return stored.Counts?.InSync == 3;
        }, TimeSpan.FromSeconds(60)), $"the newest report was not stored: {stored}");

        Assert.AreEqual(2UL, stored!.OutcomeRevision);
        Assert.AreEqual(2U, stored.OutcomeCounts.Changed, $"what revision 2 changed was lost: {stored.OutcomeCounts}");
        // The newest round changed nothing, and the revision's own changes are not drift.
        Assert.AreEqual(0U, stored.DriftCorrected, stored.ToString());
    }

    private static StatusReport Report(ResourceState state, int resources, bool desiredStateNew)
    {
        var report = new StatusReport { Revision = 2, DesiredStateNew = desiredStateNew, FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow) };
        for (var i = 0; i < resources; i++)
        {
            report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = $"net.core.x{i}", State = state });
        }
        return report;
    }
}
