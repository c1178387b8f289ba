namespace Hawser.Agent.Fleet;

/// <summary>
/// The controllers an agent may use, in an order of its own: shuffled once per start, so a fleet restarted
/// together does not all go to the first one. The agent uses one at a time and moves to the next when it fails or stops.
/// </summary>
internal sealed class ControllerList
{
    private readonly Uri[] _order;
    private int _index;
    private int _failedInRow;

    /// <summary>The controllers in <paramref name="controllers"/>, in an order <paramref name="random"/> picks.</summary>
    public ControllerList(IReadOnlyList<Uri> controllers, Random random)
    {
        if (controllers.Count == 0)
        {
            throw new ArgumentException("at least one controller is needed", nameof(controllers));
        }
        _order = [.. controllers];
        random.Shuffle(_order);
    }

    /// <summary>The controller to use now.</summary>
    public Uri Current => _order[_index];

    /// <summary>The order this agent uses them in.</summary>
    public IReadOnlyList<Uri> Order => _order;

    /// <summary>
    /// The current controller failed (or ended the stream): moves to the next. True when every controller has failed
    /// since the last success, so the agent should back off before trying again rather than move on at once.
    /// </summary>
    public bool Fail()
    {
        _failedInRow++;
        _index = (_index + 1) % _order.Length;
        return _failedInRow >= _order.Length;
    }

    /// <summary>The current controller works: a later failure moves on at once again.</summary>
    public void Succeeded() => _failedInRow = 0;
}
