using Hawser.Shared.ServiceHosting;
using Hawser.TestSupport;

namespace Hawser.Shared.Tests.ServiceHosting;

/// <summary>sd_notify against a real datagram socket whose reader has stopped reading.</summary>
[TestClass]
public sealed class SystemdNotifierTests
{
    [TestMethod]
    public async Task Pings_to_a_manager_that_stopped_reading_are_dropped_and_never_stall_the_caller()
    {
        using var directory = new TempDirectory();
        var path = Path.Combine(directory.Path, "notify.sock");
        using var manager = new NotifySocket(path);
        Environment.SetEnvironmentVariable("WATCHDOG_USEC", "400000");
        try
        {
            using var notifier = new SystemdNotifier(path);
            // Far more than the kernel queues for an unread datagram socket (net.unix.max_dgram_qlen, 10 by default).
            var pings = Task.Run(() =>
            {
                for (var i = 0; i < 200; i++)
                {
                    notifier.WatchdogPing();
                }
            });
            try
            {
                await pings.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch (TimeoutException)
            {
                Assert.Fail("a blocking send stalls the loop that pings once the queue is full");
            }

            Assert.AreEqual("WATCHDOG=1", await manager.ReceiveAsync(), "the queued pings are still delivered");
        }
        finally
        {
            Environment.SetEnvironmentVariable("WATCHDOG_USEC", null);
        }
    }
}
