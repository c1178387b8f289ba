using System.Text.Json;
using Hawser.TestSupport;

namespace Hawser.Fleet.Tests;

/// <summary>
/// Issue 27: short lifetimes work. Pebble issues certificates valid for 90 seconds (its certificateValidityPeriod); the
/// controller runs with its default check interval (an hour), so only a wake at each certificate's renewal time keeps
/// it current. Each node's server (nginx, hitch) in a network namespace of its own must serve every new serial.
/// </summary>
[TestClass]
public sealed class ShortLifetimeTests
{
    private const string Domain = "short.served.test";

    private static readonly ServedNode[] Nodes =
    [
        new("web1", TlsServerKind.Nginx, "10.68.0.173/30", "10.68.0.174", "127.0.4.91"),
        new("web2", TlsServerKind.Hitch, "10.68.0.177/30", "10.68.0.178", "127.0.4.92"),
    ];

    [TestMethod]
    public async Task A_short_lived_certificate_is_renewed_at_its_renewal_time_again_and_again_and_every_node_serves_each_serial()
    {
        await using var pebble = await PebbleServer.StartAsync(validitySeconds: 90);
        await pebble.SetAddressesAsync(Domain, [.. Nodes.Select(n => n.Challenge)]);
        using var data = new TempDirectory();
        await using var controller = await ControllerProcess.StartAsync(data.Path, extra: ["--acme-ca-file", pebble.TlsCaFile, "--acme-resolver", pebble.DnsServer]);
        await using var fleet = await ServedFleet.StartAsync(controller, Domain, data.Path, Nodes);
        var spec = Path.Combine(data.Path, "spec.yaml");
        File.WriteAllText(spec, fleet.Spec(pebble.Directory, Domain));
        var applied = await ServedFleet.CtlAsync(controller, "apply", "-f", spec, "--no-wait");
        Assert.AreEqual(0, applied.ExitCode, applied.Output);

        // Three serials in a row, each served by every node's server, the next ordered on its own.
        var seen = new List<(string Serial, DateTimeOffset RenewAt, DateTimeOffset NotAfter)>();
        while (seen.Count < 3)
        {
            JsonElement certificate = default;
            Assert.IsTrue(await Poll.UntilAsync(async () =>
            {
                certificate = await fleet.CertificateAsync();
                var serial = certificate.GetProperty("serial").ValueKind == JsonValueKind.String ? certificate.GetProperty("serial").GetString() : null;
                var served = ServedFleet.Served(certificate);
                return serial is not null && seen.All(s => s.Serial != serial) && Nodes.All(n => served.GetValueOrDefault(n.Name) == serial);
            }, TimeSpan.FromSeconds(150), TimeSpan.FromMilliseconds(500)), $"serial {seen.Count + 1} served everywhere: {certificate}\n{fleet.Diagnostics()}");
            seen.Add((certificate.GetProperty("serial").GetString()!, certificate.GetProperty("renewAt").GetDateTimeOffset(), certificate.GetProperty("notAfter").GetDateTimeOffset()));
            foreach (var server in fleet.Servers)
            {
                Assert.IsNotNull(await server.ServedSerialAsync(Domain), $"{server.Kind} answers");
            }
        }

        // Each renewal was ordered in its predecessor's last third: not before its renewal time, and before it ended.
        var issued = JsonDocument.Parse((await ServedFleet.CtlAsync(controller, "events", "--kind", "certificate.issued", "-o", "json")).StandardOutput).RootElement
            .GetProperty("events").EnumerateArray().ToList();
        for (var i = 1; i < seen.Count; i++)
        {
            var at = issued.Single(e => e.GetProperty("summary").GetString()!.Contains(seen[i].Serial, StringComparison.Ordinal)).GetProperty("at").GetDateTimeOffset();
            Assert.IsGreaterThanOrEqualTo(seen[i - 1].RenewAt, at, $"serial {i + 1} was ordered at {at:O}, not before {seen[i - 1].RenewAt:O}");
            Assert.IsLessThan(seen[i - 1].NotAfter, at, $"serial {i + 1} was ordered at {at:O}, before {seen[i - 1].NotAfter:O}");
        }
        Assert.DoesNotContain("breaker", string.Join("\n", controller.Log), "renewals on time are not a storm");
    }
}
