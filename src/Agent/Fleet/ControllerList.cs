using System.Net;
using System.Net.Sockets;

namespace Hawser.Agent.Fleet;

/// <summary>One controller to dial: its URL, and the address to use when the URL's name has several.</summary>
internal sealed record ControllerEndpoint(Uri Url, IPAddress? Address)
{
    /// <inheritdoc/>
    public override string ToString() => Address is null ? Url.ToString() : $"{Url} ({Address})";
}

/// <summary>
/// The controllers an agent may use, in an order of its own: shuffled once per start, so a fleet restarted
/// together does not all go to the first one. A URL whose name resolves to several addresses counts as one
/// controller per address (the certificate is still checked against the name). The agent uses one at a time
/// and moves to the next when it fails or stops; after every one has failed, names are resolved again.
/// </summary>
internal sealed class ControllerList
{
    private readonly IReadOnlyList<Uri> _controllers;
    private readonly Random _random;
    private readonly Func<string, IPAddress[]> _resolve;
    private ControllerEndpoint[] _order;
    private int _index;
    private int _failedInRow;

    /// <summary>The controllers in <paramref name="controllers"/>, in an order <paramref name="random"/> picks; names resolved with <paramref name="resolve"/> (DNS by default).</summary>
    public ControllerList(IReadOnlyList<Uri> controllers, Random random, Func<string, IPAddress[]>? resolve = null)
    {
        if (controllers.Count == 0)
        {
            throw new ArgumentException("at least one controller is needed", nameof(controllers));
        }
        _controllers = controllers;
        _random = random;
        _resolve = resolve ?? Resolve;
        _order = Expand();
    }

    /// <summary>The controller to use now.</summary>
    public ControllerEndpoint Current => _order[_index];

    /// <summary>The order this agent uses them in.</summary>
    public IReadOnlyList<ControllerEndpoint> Order => _order;

    /// <summary>
    /// The current controller failed (or ended the stream): moves to the next. True when every controller has failed
    /// since the last success, so the agent should back off before trying again rather than move on at once.
    /// </summary>
    public bool Fail()
    {
        _failedInRow++;
        _index = (_index + 1) % _order.Length;
        if (_failedInRow < _order.Length)
        {
            return false;
        }
        // A name may point elsewhere now.
        _order = Expand();
        _index = 0;
        _failedInRow = 0;
        return true;
    }

    /// <summary>The current controller works: a later failure moves on at once again.</summary>
    public void Succeeded() => _failedInRow = 0;

    private ControllerEndpoint[] Expand()
    {
        var endpoints = new List<ControllerEndpoint>();
        foreach (var url in _controllers)
        {
            var addresses = url.HostNameType == UriHostNameType.Dns ? _resolve(url.IdnHost) : [];
            if (addresses.Length > 1)
            {
                endpoints.AddRange(addresses.Distinct().Select(address => new ControllerEndpoint(url, address)));
            }
            else
            {
                endpoints.Add(new ControllerEndpoint(url, null));
            }
        }
        var order = endpoints.ToArray();
        _random.Shuffle(order);
        return order;
    }

    /// <summary>The name's addresses; none when it cannot be resolved now (the connection attempt then says why).</summary>
    private static IPAddress[] Resolve(string host)
    {
        try
        {
            return Dns.GetHostAddresses(host);
        }
        catch (SocketException)
        {
            return [];
        }
    }
}
