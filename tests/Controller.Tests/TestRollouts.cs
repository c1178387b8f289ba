using Hawser.Controller.Rollouts;

namespace Hawser.Controller.Tests;

/// <summary>Rollouts for store tests: a state and a revision, no nodes.</summary>
internal static class TestRollouts
{
    /// <summary>A new (unnumbered) rollout of <paramref name="revision"/> in <paramref name="state"/>.</summary>
    public static RolloutRecord New(RolloutState state, ulong revision = 0) =>
        new() { State = state, Revision = revision, Settings = new RolloutSettings(), Batches = 0, Nodes = [] };
}
