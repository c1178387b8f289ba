using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Hawser.Shared.ServiceHosting;

/// <summary>
/// The sd_notify datagram protocol, for <c>Type=notify</c> units: READY=1 once serving, STOPPING=1
/// on shutdown, WATCHDOG=1 at half the unit's WatchdogSec (from a timer, or from the caller's work loop). Without $NOTIFY_SOCKET (not under
/// systemd) every call does nothing.
/// </summary>
public sealed class SystemdNotifier : IDisposable
{
    private readonly Socket? _socket;
    private readonly UnixDomainSocketEndPoint? _endPoint;
    private Timer? _watchdog;

    /// <summary>A notifier for the socket systemd named in the environment, if any.</summary>
    public SystemdNotifier(string? notifySocket = null)
    {
        var path = notifySocket ?? Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }
        // A leading '@' names a socket in the abstract namespace.
        _endPoint = new UnixDomainSocketEndPoint(path[0] == '@' ? "\0" + path[1..] : path);
        // Non-blocking: a manager that stops reading fills the queue (net.unix.max_dgram_qlen, 10 by default),
        // and a blocking send would then stall the converge loop that pings from inside its work.
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
    }

    /// <summary>True when running under a service manager that listens.</summary>
    public bool Enabled => _socket is not null;

    /// <summary>Half the unit's WatchdogSec: how often a ping is due; null when the unit has no watchdog.</summary>
    public TimeSpan? WatchdogInterval => Enabled && Environment.GetEnvironmentVariable("WATCHDOG_USEC") is { } usec
        && long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var microseconds) && microseconds > 0
            ? TimeSpan.FromMicroseconds(microseconds / 2) : null;

    /// <summary>
    /// Tells systemd the service is up. With <paramref name="pingFromTimer"/> a timer pings the watchdog
    /// (a server whose work has no single loop); otherwise the work loop calls <see cref="WatchdogPing"/>,
    /// so a loop that is stuck stops the pings and systemd restarts the service.
    /// </summary>
    public void Ready(string status, bool pingFromTimer = true)
    {
        Send($"READY=1\nSTATUS={status}\nMAINPID={Environment.ProcessId}", mustArrive: true);
        if (pingFromTimer && WatchdogInterval is { } half)
        {
            _watchdog = new Timer(_ => Send("WATCHDOG=1"), null, half, half);
        }
    }

    /// <summary>One watchdog ping, from the loop that does the work; nothing without a watchdog.</summary>
    public void WatchdogPing()
    {
        if (WatchdogInterval is not null)
        {
            // A ping the full queue refuses is dropped: the next one is due in half a WatchdogSec.
            Send("WATCHDOG=1");
        }
    }

    /// <summary>Tells systemd the service is shutting down.</summary>
    public void Stopping() => Send("STOPPING=1", mustArrive: true);

    /// <summary>Updates the status line `systemctl status` shows.</summary>
    public void Status(string status) => Send($"STATUS={status}");

    /// <summary>
    /// Sends without blocking. A state change (<paramref name="mustArrive"/>) waiting behind a full queue is
    /// retried for up to two seconds; anything else the queue refuses is dropped.
    /// </summary>
    private void Send(string message, bool mustArrive = false)
    {
        if (_socket is null)
        {
            return;
        }
        var bytes = Encoding.UTF8.GetBytes(message);
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                _socket.SendTo(bytes, _endPoint!);
                return;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.WouldBlock && mustArrive && attempt < 40)
            {
                Thread.Sleep(50);
            }
            catch (SocketException)
            {
                // The manager went away or is not reading; the service itself carries on.
                return;
            }
        }
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        _watchdog?.Dispose();
        _socket?.Dispose();
    }
}
