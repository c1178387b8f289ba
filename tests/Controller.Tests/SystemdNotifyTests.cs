using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>The controller speaks sd_notify to a real datagram socket, as systemd listens for Type=notify units.</summary>
[TestClass]
public sealed class SystemdNotifyTests
{
    [TestMethod]
    public async Task The_controller_says_READY_when_serving_and_STOPPING_on_SIGTERM()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");
        var init = await HawserProcesses.RunAsync("hawser-controller", ["init", "--data", data]);
        Assert.AreEqual(0, init.ExitCode, init.Output);
        var socketPath = Path.Combine(temp.Path, "notify.sock");
        using var socket = new NotifySocket(socketPath);

        using var controller = HawserProcesses.Start("hawser-controller", ["run", "--listen", "127.0.0.1:0", "--data", data],
            environment: new Dictionary<string, string> { ["NOTIFY_SOCKET"] = socketPath, ["WATCHDOG_USEC"] = "400000" });
        var ready = await socket.ReceiveAsync();
        var watchdog = await socket.ReceiveAsync();
        Signals.Terminate(controller.Id);
        string stopping;
        do
        {
            stopping = await socket.ReceiveAsync();
        }
        while (stopping == "WATCHDOG=1");
        await controller.WaitForExitAsync();

        StringAssert.StartsWith(ready, "READY=1\n");
        StringAssert.Contains(ready, $"MAINPID={controller.Id}");
        StringAssert.Contains(ready, "STATUS=serving on https://127.0.0.1:");
        Assert.AreEqual("WATCHDOG=1", watchdog, "pings at half of WATCHDOG_USEC");
        Assert.AreEqual("STOPPING=1", stopping);
        Assert.AreEqual(0, controller.ExitCode);
    }
}
