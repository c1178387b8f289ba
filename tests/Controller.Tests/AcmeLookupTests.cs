using System.Net;
using Hawser.Controller.Acme;
using Hawser.Controller.Acme.Client;
using Hawser.Shared.Acme;
using Hawser.TestSupport;

namespace Hawser.Controller.Tests;

/// <summary>The preflight's DNS client against a real DNS server (challtestsrv), and the RFC 9773 renewal time.</summary>
[TestClass]
public sealed class AcmeLookupTests
{
    [TestMethod]
    public async Task Lookup_returns_A_then_AAAA_records_in_the_servers_order_and_none_for_an_unknown_name()
    {
        await using var pebble = await PebbleServer.StartAsync();
        await pebble.SetAddressesAsync("rr.lookup.test", "127.0.0.9", "127.0.0.8", "2001:db8::5");
        var dns = new DnsLookup(DnsLookup.ParseServer(pebble.DnsServer));

        var found = await dns.AddressesAsync("rr.lookup.test", CancellationToken.None);
        var none = await dns.AddressesAsync("absent.lookup.test", CancellationToken.None);

        CollectionAssert.AreEqual(new[] { IPAddress.Parse("127.0.0.9"), IPAddress.Parse("127.0.0.8"), IPAddress.Parse("2001:db8::5") }, found.ToArray());
        Assert.IsEmpty(none);
    }

    [TestMethod]
    public async Task A_server_that_does_not_answer_is_named_in_the_error()
    {
        using var silent = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var server = (IPEndPoint)silent.Client.LocalEndPoint!;
        var dns = new DnsLookup(server, TimeSpan.FromMilliseconds(300));

        var error = await Assert.ThrowsExactlyAsync<DnsLookupException>(() => dns.AddressesAsync("www.example.org", CancellationToken.None));

        StringAssert.Contains(error.Message, $"DNS server {server} did not answer for www.example.org (A)");
    }

    [TestMethod]
    [DataRow("192.0.2.53", "192.0.2.53:53")]
    [DataRow("127.0.0.1:8053", "127.0.0.1:8053")]
    [DataRow("[::1]:5353", "[::1]:5353")]
    public void Resolver_addresses_default_to_port_53(string text, string expected) =>
        Assert.AreEqual(expected, DnsLookup.ParseServer(text).ToString());

    [TestMethod]
    public void The_first_nameserver_of_resolv_conf_is_used()
    {
        using var directory = new TempDirectory();
        var file = Path.Combine(directory.Path, "resolv.conf");
        File.WriteAllText(file, "# comment\nsearch example.org\nnameserver 192.0.2.1\nnameserver 192.0.2.2\n");

        Assert.AreEqual("192.0.2.1:53", DnsLookup.SystemServer(file).ToString());
    }

    [TestMethod]
    public void The_renewal_time_lies_inside_the_CAs_window_fixed_per_serial_and_spread_across_serials()
    {
        var start = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        var window = new AcmeWindow(start, start.AddDays(2));
        var times = Enumerable.Range(0, 200).Select(i => CertificateIssuer.PointInWindow(window, $"SERIAL{i:X4}")).ToList();

        Assert.IsTrue(times.All(t => t >= window.Start && t <= window.End), "every time is inside the window");
        Assert.AreEqual(times[7], CertificateIssuer.PointInWindow(window, "SERIAL0007"), "the same serial gives the same time on every check");
        Assert.IsGreaterThan(20, times.Count(t => t < start.AddHours(12)), "a fleet's renewals are spread over the window, not bunched at its start");
        Assert.IsGreaterThan(20, times.Count(t => t > start.AddHours(36)));
        Assert.AreEqual(start, CertificateIssuer.PointInWindow(new AcmeWindow(start, start), "X"), "an empty window gives its start");
    }
}
