using System.Text.Json;
using Hawser.Controller.Rollouts;

namespace Hawser.Controller.Web;

/// <summary>What the web UI's live view is told: a rollout that changed, a node that reported (or "" for any).</summary>
public sealed class WebLiveFeed(WebEvents events)
{
    /// <summary>Publishes <paramref name="rollout"/> as it is now.</summary>
    public void Rollout(RolloutRecord rollout) => events.Publish("rollout", JsonSerializer.Serialize(WebApi.ToWeb(rollout), WebJsonContext.Default.WebRollout));

    /// <summary>Says that <paramref name="node"/> changed ("" when the caller does not know which).</summary>
    public void Nodes(string node) => events.Publish("nodes", JsonSerializer.Serialize(node, WebJsonContext.Default.String));

    /// <summary>
    /// Until cancelled, says "log" each time the event log grew, at most once a second (a busy fleet stores many), so the
    /// events page follows it; the page reads what it shows through its own filters and scope.
    /// </summary>
    public async Task FollowLogAsync(Store.ControllerStore store, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await store.Events.WaitAsync(cancellationToken);
            events.Publish("log", "{}");
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }
}
