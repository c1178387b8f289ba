using System.Collections.Concurrent;
using Hawser.Controller.Acme;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Sessions;

/// <summary>
/// Applies what another controller changed in the shared store to this one: its agents get their new desired
/// state, certificates obtained elsewhere are loaded, removed nodes are disconnected, relayed messages are sent,
/// and event followers are woken. Topics arriving in a burst are handled once.
/// </summary>
public sealed class FleetSync(ControllerStore store, AgentSessions sessions, CertificateMaterials materials, SecretBox box, Func<CancellationToken, Task<Shared.Spec.AcmeSpec?>> acme, ILogger logger) : IDisposable
{
    private readonly ConcurrentDictionary<string, bool> _pending = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>Called when another controller stored a revision (the certificate renewer looks at what it asks for).</summary>
    public Action? DesiredChanged { get; init; }

    /// <summary>Called when another controller started, stepped or controlled a rollout (the engine looks again).</summary>
    public Func<CancellationToken, Task>? RolloutsChanged { get; init; }

    /// <summary>Called when what the fleet view shows may have changed elsewhere: nodes, desired state, or new events (the web UI's live view).</summary>
    public Action? NodesChanged { get; init; }

    /// <summary>Notes a changed topic (called from the watcher's thread).</summary>
    public void OnChanged(string topic)
    {
        _pending[topic] = true;
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // Woken already.
            }
        }
    }

    /// <summary>Handles changed topics until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _wake.WaitAsync(cancellationToken);
                foreach (var topic in _pending.Keys.ToList())
                {
                    _pending.TryRemove(topic, out _);
                    await HandleAsync(topic, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        // Relays still going end with the same cancellation (they log their own failures).
        await _relays.WhenAllAsync();
    }

    // Relays of other controllers' messages, which may wait seconds for an agent: not awaited by the loop, but at its end.
    private readonly Shared.Threading.TrackedTasks _relays = new();

    private async Task HandleAsync(string topic, CancellationToken cancellationToken)
    {
        try
        {
            switch (topic)
            {
                case ControllerStore.Topics.Certificates:
                    await materials.RefreshAsync(store, box, await acme(cancellationToken), cancellationToken);
                    await sessions.RefreshAsync();
                    break;
                case ControllerStore.Topics.Desired:
                    DesiredChanged?.Invoke();
                    await sessions.RefreshAsync();
                    NodesChanged?.Invoke();
                    break;
                case ControllerStore.Topics.Nodes:
                    await sessions.RefreshAsync();
                    NodesChanged?.Invoke();
                    break;
                case ControllerStore.Topics.Messages:
                    // An agent may take seconds to acknowledge; other topics do not wait for it.
                    _relays.Add(RelayAsync(cancellationToken));
                    break;
                case ControllerStore.Topics.Rollouts:
                    if (RolloutsChanged is { } rolloutsChanged)
                    {
                        await rolloutsChanged(cancellationToken);
                    }
                    break;
                case StoreWatcher.EventsTopic:
                    // Agents on other controllers report there; what changed on them is in their events.
                    store.Events.Signal();
                    NodesChanged?.Invoke();
                    break;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ControllerLog.SyncFailed(logger, topic, ex.Message);
        }
    }

    private async Task RelayAsync(CancellationToken cancellationToken)
    {
        try
        {
            await sessions.RelayAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ControllerLog.SyncFailed(logger, ControllerStore.Topics.Messages, ex.Message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _wake.Dispose();
}
