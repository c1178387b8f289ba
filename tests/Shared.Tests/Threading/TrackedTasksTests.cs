using Hawser.Shared.Threading;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.Threading;

/// <summary>TrackedTasks: what a loop started beside itself is waited for when it stops.</summary>
[TestClass]
public sealed class TrackedTasksTests
{
    [TestMethod]
    public async Task Waiting_ends_only_when_every_task_kept_has_ended_and_a_fault_is_seen()
    {
        var tracked = new TrackedTasks();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        tracked.Add(first.Task);
        tracked.Add(second.Task);

        var all = tracked.WhenAllAsync();
        first.SetResult();
        await first.Task;
        Assert.IsFalse(all.IsCompleted, "one is still running");
        second.SetException(new InvalidOperationException("lost before"));

        var fault = await Assert.ThrowsExactlyAsync<InvalidOperationException>(() => all);
        Assert.AreEqual("lost before", fault.Message);
        Assert.IsTrue(await Poll.UntilAsync(() => tracked.WhenAllAsync().IsCompletedSuccessfully, TimeSpan.FromSeconds(30)), "ended tasks are let go");
    }
}
