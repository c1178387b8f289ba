using System.Globalization;
using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests.Faults;

/// <summary>The controller SIGKILLed at random moments while applies arrive: no revision it acknowledged is lost, and the store stays sound.</summary>
[TestClass]
public sealed class ControllerKillTests
{
    [TestMethod]
    public async Task SIGKILL_during_applies_loses_no_acknowledged_revision()
    {
        using var temp = new TempDirectory();
        var data = Path.Combine(temp.Path, "data");
        var random = new Random();
        var acknowledged = new HashSet<ulong>();
        int rounds = 0, cutOff = 0;
        List<Task<ProcessResult>> Applies(ControllerProcess controller) => [.. Enumerable.Range(0, 4).Select(i =>
        {
            var spec = Path.Combine(temp.Path, $"spec-{rounds}-{i}.yaml");
            File.WriteAllText(spec, $"apiVersion: hawser/v1\nnodes:\n  web{i}:\n    sysctls: {{net.ipv4.tcp_keepalive_time: \"{600 + rounds}\"}}\n");
            return HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "apply", "-f", spec, "-m", $"round {rounds}", "-o", "json"]);
        })];
        // One round without a kill says how long four applies take here; kills then land anywhere in that span.
        int span;
        await using (var calm = await ControllerProcess.StartAsync(data))
        {
            var timer = System.Diagnostics.Stopwatch.StartNew();
            await Task.WhenAll(Applies(calm));
            span = (int)timer.ElapsedMilliseconds;
        }
        for (; rounds < 40 && (rounds < 10 || cutOff < 3); rounds++)
        {
            var controller = await ControllerProcess.StartAsync(data);
            var applies = Applies(controller);
            await Task.Delay(random.Next(0, span * 5 / 4));
            System.Diagnostics.Process.GetProcessById(controller.Pid).Kill();
            foreach (var result in await Task.WhenAll(applies))
            {
                if (result.ExitCode == 0)
                {
                    acknowledged.Add(JsonDocument.Parse(result.StandardOutput).RootElement.GetProperty("revision").GetUInt64());
                }
                else
                {
                    cutOff++;
                }
            }
            await controller.DisposeAsync();
        }

        await using var last = await ControllerProcess.StartAsync(data);
        var listed = await HawserProcesses.RunAsync("hawserctl", ["--config", last.CtlConfig, "revisions", "--limit", "100000", "-o", "json"]);
        var stored = JsonDocument.Parse(listed.StandardOutput).RootElement.GetProperty("revisions").EnumerateArray()
            .Select(r => r.GetProperty("number").GetUInt64()).ToHashSet();
        var check = await HawserProcesses.RunAsync("hawser-controller", ["check", "--data", data]);

        Assert.IsGreaterThanOrEqualTo(1, cutOff, $"in {rounds} rounds no kill cut an apply off; the test proved nothing");
        Assert.IsNotEmpty(acknowledged, "some applies finished before the kills");
        CollectionAssert.IsSubsetOf(acknowledged.ToList(), stored.ToList(),
            $"every revision hawserctl said was stored is there after {rounds} kills (acknowledged {string.Join(",", acknowledged.Order())}; stored {string.Join(",", stored.Order())})");
        Assert.AreEqual(0, check.ExitCode, check.Output);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{rounds} kills, {acknowledged.Count} applies acknowledged, {cutOff} cut off, {stored.Count} revisions stored"));
    }
}
