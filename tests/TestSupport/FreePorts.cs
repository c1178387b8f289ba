using System.Net;
using System.Net.Sockets;

namespace Hawser.TestSupport;

/// <summary>
/// Loopback ports for servers a test starts later (Pebble, Prometheus, a controller that keeps its address).
/// Chosen below the kernel's ephemeral range: a port picked by binding to 0 comes from that range, so any
/// outgoing connection of the parallel test processes could take it before the server binds it (CI saw
/// Pebble fail with "address already in use" that way).
/// </summary>
public static class FreePorts
{
    private static readonly HashSet<int> Given = [];
    private static readonly (int Low, int High) Range = ReadRange();

    /// <summary>A TCP port nothing listens on now and this process has not handed out before.</summary>
    public static int Tcp() => Pick(port => Binds(port, SocketType.Stream, ProtocolType.Tcp));

    /// <summary>A UDP port free now (for a DNS server), likewise.</summary>
    public static int Udp() => Pick(port => Binds(port, SocketType.Dgram, ProtocolType.Udp));

    private static int Pick(Func<int, bool> free)
    {
        for (var attempt = 0; attempt < 1000; attempt++)
        {
            var port = Random.Shared.Next(Range.Low, Range.High);
            lock (Given)
            {
                if (Given.Contains(port) || !free(port))
                {
                    continue;
                }
                Given.Add(port);
                return port;
            }
        }
        throw new InvalidOperationException($"no free loopback port in {Range.Low}-{Range.High}");
    }

    private static bool Binds(int port, SocketType type, ProtocolType protocol)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, type, protocol);
        try
        {
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>The ports under the ephemeral range (32768 by default), above the well-known and registered ones most services use.</summary>
    private static (int, int) ReadRange()
    {
        var ephemeralLow = 32768;
        try
        {
            var fields = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            ephemeralLow = int.Parse(fields[0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
        }
        return ephemeralLow > 21000 ? (20000, ephemeralLow) : (ephemeralLow / 2, ephemeralLow);
    }
}
