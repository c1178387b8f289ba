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
    public async Task An_answer_too_large_for_UDP_is_asked_again_over_TCP()
    {
        // Debian's dnsmasq answers 60 A records: about 1 KB, over the 512 bytes of a UDP answer without EDNS,
        // so it sets TC and the full answer can only come over TCP.
        using var directory = new TempDirectory();
        var hosts = Path.Combine(directory.Path, "hosts");
        // And one AAAA record: dnsmasq without upstream servers refuses a question it holds no record for.
        var expected = Enumerable.Range(1, 60).Select(i => IPAddress.Parse($"192.0.2.{i}")).Append(IPAddress.Parse("2001:db8::1")).ToArray();
        File.WriteAllLines(hosts, expected.Select(a => $"{a} many.lookup.test"));
        var port = FreePort();
        using var dnsmasq = ExternalProcess.Start("/usr/sbin/dnsmasq", ["--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
            $"--addn-hosts={hosts}", "--listen-address=127.0.0.1", "--bind-interfaces", $"--port={port}", "--user=root", "--log-queries", "--log-facility=-"]);
        try
        {
            var dns = new DnsLookup(new IPEndPoint(IPAddress.Loopback, port), TimeSpan.FromSeconds(1));
            IReadOnlyList<IPAddress>? found = null;
            // Until dnsmasq listens (it says nothing on stdout when it does): each try waits for an answer or a refusal.
            for (var attempt = 0; found is null; attempt++)
            {
                try
                {
                    found = await dns.AddressesAsync("many.lookup.test", CancellationToken.None);
                }
                catch (DnsLookupException) when (attempt < 30 && !dnsmasq.HasExited)
                {
                }
                catch (DnsLookupException ex)
                {
                    dnsmasq.Kill();
                    throw new AssertFailedException($"{ex.Message}; dnsmasq said: {await dnsmasq.StandardError.ReadToEndAsync()}", ex);
                }
            }

            CollectionAssert.AreEquivalent(expected, found.ToArray());
        }
        finally
        {
            dnsmasq.Kill();
        }
    }

    [TestMethod]
    public async Task A_malformed_answer_is_an_error_naming_the_server()
    {
        using var server = new System.Net.Sockets.UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var endpoint = (IPEndPoint)server.Client.LocalEndPoint!;
        using var stop = new CancellationTokenSource();
        // Answers every query with its own id and then bytes that are no DNS message.
        var answering = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var query = await server.ReceiveAsync(stop.Token);
                await server.SendAsync(new byte[] { query.Buffer[0], query.Buffer[1], 0x81, 0x80, 0xFF, 0xFF, 0x00 }, query.RemoteEndPoint, stop.Token);
            }
        });
        var dns = new DnsLookup(endpoint, TimeSpan.FromSeconds(2));

        var error = await Assert.ThrowsExactlyAsync<DnsLookupException>(() => dns.AddressesAsync("www.example.org", CancellationToken.None));

        StringAssert.Contains(error.Message, $"DNS server {endpoint}");
        await stop.CancelAsync();
        await Assert.ThrowsAsync<OperationCanceledException>(() => answering);
    }

    private static int FreePort()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
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
