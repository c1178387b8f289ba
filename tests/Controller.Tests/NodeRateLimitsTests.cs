using Hawser.Controller.Sessions;

namespace Hawser.Controller.Tests;

/// <summary>A node's budgets: a burst, then nothing until the clock refills them; kept across the node's streams.</summary>
[TestClass]
public sealed class NodeRateLimitsTests
{
    [TestMethod]
    public void A_bucket_gives_its_burst_and_then_refuses_until_it_refills()
    {
        // One token an hour: nothing refills while the test runs.
        var bucket = new TokenBucket(1.0 / 3600, 3);

        var taken = Enumerable.Range(0, 5).Select(_ => bucket.TryTake()).ToList();

        CollectionAssert.AreEqual(new[] { true, true, true, false, false }, taken);
    }

    [TestMethod]
    public void A_nodes_budget_is_the_same_on_its_next_stream_and_forgotten_when_it_is_removed()
    {
        var limits = new NodeRateLimits(new NodeRateOptions { ConnectBurst = 2, ConnectsPerMinute = 1.0 / 60 });

        Assert.IsTrue(limits.For("web1").Connects.TryTake());
        Assert.IsTrue(limits.For("web1").Connects.TryTake());
        Assert.IsFalse(limits.For("web1").Connects.TryTake(), "a reconnect does not refill the budget");
        Assert.IsTrue(limits.For("web2").Connects.TryTake(), "each node has its own");
        limits.Forget("web1");
        Assert.IsTrue(limits.For("web1").Connects.TryTake());
    }

    [TestMethod]
    public void What_was_held_back_is_said_once_a_window_and_nothing_when_nothing_was()
    {
        var budget = new NodeRateLimits(new NodeRateOptions()).For("web1");

        Assert.IsNull(budget.TakeThrottled(force: true));
        budget.Coalesced();
        budget.Coalesced();
        budget.EventDropped();
        Assert.IsNull(budget.TakeThrottled(), "the window is still open");
        var said = budget.TakeThrottled(force: true);

        Assert.AreEqual((2L, 1L, 0L), (said!.Value.Coalesced, said.Value.EventsDropped, said.Value.MessagesSlowed));
        Assert.IsNull(budget.TakeThrottled(force: true), "said once");
    }
}
