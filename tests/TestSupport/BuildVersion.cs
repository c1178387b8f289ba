namespace Hawser.TestSupport;

/// <summary>This build's version (the controller's and the agent's), which a hand-made agent says in its hello to be taken.</summary>
public static class BuildVersion
{
    /// <summary>As the agent says it: <c>0.1.0</c>.</summary>
    public static string Current { get; } = typeof(Hawser.Controller.Api.ControlApi).Assembly.GetName().Version!.ToString(3);
}
