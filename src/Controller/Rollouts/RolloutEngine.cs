using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Rollouts;

/// <summary>
/// Moves a stored revision across nodes batch by batch. Every step is written to the store (the
/// rollout and the node pins together) before anything is pushed, so a controller restarted in the
/// middle continues from what it wrote: a node is moved once, and a batch is never skipped.
/// A node passes its batch's gate when it reports the revision applied with no failed resource and
/// its HTTP checks keep passing for their hold time; past the failure budget the rollout pauses or
/// returns every moved node to its previous revision, batch by batch, through the same gates.
/// </summary>
/// With several controllers on one store, exactly one steps a rollout: the one holding its lease (<c>rollout:ID</c>),
/// whose every write is fenced by the lease's term; another takes over when the holder dies.
public sealed class RolloutEngine(ControllerStore store, DesiredStates desired, AgentSessions sessions, ILogger logger) : IDisposable
{
    private HeldLease? _lease;
    private DateTimeOffset _nextLeaseTry;

    /// <summary>How long a rollout's lease lasts unless renewed (shared stores only).</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(250);
    private readonly SemaphoreSlim _wake = new(0, 1);
    private volatile bool _idle;
    // Each check sets its own request timeout; connecting is bounded as well, for an address that drops packets.
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, ConnectTimeout = TimeSpan.FromSeconds(3) })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    /// <summary>Called after every change of a rollout (for live views).</summary>
    public event Action<RolloutRecord>? Changed;

    /// <summary>Starts rolling <paramref name="revision"/> out; refused while another rollout is active.</summary>
    public async Task<RolloutRecord> StartAsync(ulong revision, RolloutSettings options, string actor, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var plan = RolloutPlan.Parse(options);
        // No lock: a second start (here or on another controller) is refused by the store, which keeps one active rollout.
        if ((await store.Rollouts.ActiveAsync(cancellationToken: cancellationToken)) is { } active)
        {
            throw new RolloutException(new RolloutActiveException(active.Id, active.State).Message);
        }
        var record = (await store.Revisions.GetAsync(revision, cancellationToken: cancellationToken)) ?? throw new RolloutException($"revision {revision} does not exist (hawserctl revisions lists them)");
        var fleet = await store.Nodes.ListWithoutReportsAsync(cancellationToken);
        var byName = fleet.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var targets = Targets(plan, options, desired.Nodes(record).Keys, fleet.Select(n => n.Name), node => byName[node].Labels, $"revision {revision}");
        var batches = RolloutPlan.Batches(targets, options);
        var rollout = new RolloutRecord
        {
            Revision = revision,
            State = RolloutState.Running,
            Settings = options,
            Batches = (uint)batches.Count,
            Nodes = [.. batches.SelectMany((batch, b) => batch.Select(node =>
                new RolloutNodeRecord { Node = node, Batch = (uint)b, State = RolloutNodeState.Pending, PreviousRevision = Current(byName[node]) }))],
        };
        // Every node keeps what it runs until the rollout moves it; nodes outside it keep theirs after it.
        var pins = fleet.Where(n => n.PinnedRevision is null).ToDictionary(n => n.Name, n => (ulong?)Current(n), StringComparer.Ordinal);
        try
        {
            await store.Rollouts.SaveAsync(rollout, pins, RolloutEvents.Between(null, rollout, actor), cancellationToken: cancellationToken);
        }
        catch (RolloutActiveException ex)
        {
            // Another controller started one since the check above.
            throw new RolloutException(ex.Message);
        }
        ControllerLog.RolloutStarted(logger, rollout.Id, revision, targets.Count, batches.Count);
        Changed?.Invoke(rollout);
        Wake();
        return rollout;
    }

    /// <summary>
    /// Refuses, with the reason, a rollout of <paramref name="spec"/> that could not start (checked before an apply stores it):
    /// no enrolled node it names matches the selector, or a check needs a label a target lacks. Labels are the spec's.
    /// </summary>
    public async Task CheckStartableAsync(ResolvedSpec spec, RolloutSettings options, CancellationToken cancellationToken)
    {
        var enrolled = (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).Select(n => n.Name);
        _ = Targets(RolloutPlan.Parse(options), options, spec.Nodes.Keys, enrolled, node => spec.Labels[node], "the spec");
    }

    /// <summary>The enrolled nodes a rollout moves, in order; refused when there is none, or a check needs a label one lacks.</summary>
    private static List<string> Targets(RolloutPlan plan, RolloutSettings options, IEnumerable<string> named, IEnumerable<string> enrolled,
        Func<string, IReadOnlyDictionary<string, string>> labels, string what)
    {
        var names = named.ToHashSet(StringComparer.Ordinal);
        var targets = enrolled.Where(n => names.Contains(n) && plan.Selects(labels(n))).ToList();
        if (targets.Count == 0)
        {
            throw new RolloutException($"no enrolled node that {what} names matches the selector '{options.Selector}'");
        }
        foreach (var check in options.Checks.Where(c => c.Url.Contains("{address}", StringComparison.Ordinal)))
        {
            var missing = targets.Where(t => !labels(t).ContainsKey("address")).ToList();
            if (missing.Count > 0)
            {
                throw new RolloutException($"check '{check.Url}' uses {{address}}, but these nodes have no 'address' label: {string.Join(", ", missing)}");
            }
        }
        return targets;
    }

    /// <summary>Pause, resume, abort, promote or rollback, at any moment it makes sense.</summary>
    public async Task<RolloutRecord> ControlAsync(ulong id, string action, string actor, CancellationToken cancellationToken)
    {
        // No lock across the store: the save is refused when the rollout changed since it was read (a step, here or on
        // another controller), and the action is then judged again on what is stored now.
        for (var attempt = 1; ; attempt++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rollout = (await store.Rollouts.GetAsync(id, cancellationToken: cancellationToken)) ?? throw new RolloutException($"rollout {id} does not exist");
            var read = rollout.UpdatedAt;
            var state = rollout.State;
            // A finished rollout can be undone only while nothing newer has moved nodes since.
            if (action == "rollback" && state == RolloutState.Done && (await store.Rollouts.ListAsync(1, cancellationToken: cancellationToken)) is [var newest] && newest.Id != id)
            {
                throw new RolloutException($"rollout {id} is done and rollout {newest.Id} came after it; roll that one back, or start a rollout of the revision you want");
            }
            RolloutTransitions.Command(rollout, action);
            try
            {
                await SaveAsync(rollout, actor: actor, expected: read, cancellationToken: cancellationToken);
            }
            catch (RolloutChangedException) when (attempt < ControlAttempts)
            {
                await Task.Yield();
                continue;
            }
            catch (RolloutChangedException)
            {
                throw new RolloutException($"rollout {id} kept changing while '{action}' was being applied ({ControlAttempts} tries); try again");
            }
            ControllerLog.RolloutControlled(logger, id, action, actor);
            Wake();
            return rollout;
        }
    }

    /// <summary>How many times a command is judged again when a step changed the rollout under it.</summary>
    private const int ControlAttempts = 5;

    /// <summary>Steps the active rollout until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            // After a restart, nodes mid-move get their state again (a no-op for those that have it).
            if ((await store.Rollouts.ActiveAsync(cancellationToken: cancellationToken)) is { } resumed)
            {
                LogResumed(resumed);
                await PushAsync(resumed.Nodes.Where(n => n.State is RolloutNodeState.Moving or RolloutNodeState.Returning).Select(n => n.Node));
            }
            while (!cancellationToken.IsCancellationRequested)
            {
                var changed = false;
                try
                {
                    changed = await StepAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ControllerLog.RolloutStepFailed(logger, ex.Message);
                }
                // A step that changed something (a batch judged) is followed at once by the next (move the next batch);
                // with no rollout active nothing is read until a start, a command or a report wakes the engine.
                if (!changed)
                {
                    await _wake.WaitAsync(_idle ? Timeout.InfiniteTimeSpan : Tick, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            // Given up on a clean stop, so another controller takes the rollout over at once.
            await DropLeaseAsync();
        }
    }

    /// <summary>Checks soon (after a report or a command).</summary>
    public void Wake()
    {
        if (_wake.CurrentCount == 0)
        {
            _wake.Release();
        }
    }

    /// <summary>
    /// A node reported: checks soon while a rollout is active. With none, a report cannot move one (a start wakes the
    /// engine itself), and a fleet's thousands of reports would each cost a step's reads of the store.
    /// </summary>
    public void WakeForReport()
    {
        if (!_idle)
        {
            Wake();
        }
    }

    /// <summary>
    /// One step of the active rollout: move a batch, judge its nodes, or advance; true when it changed anything.
    /// No lock is held: the HTTP checks (seconds each) run first, and the step's save is refused when a command (pause,
    /// abort, ...) changed the rollout since it was read, so commands take effect at once and the step is judged again.
    /// </summary>
    public async Task<bool> StepAsync(CancellationToken cancellationToken)
    {
        var checks = await RunChecksAsync(cancellationToken);
        var rollout = await store.Rollouts.ActiveAsync(cancellationToken: cancellationToken);
        _idle = rollout is null;
        if (!await HoldLeaseAsync(rollout))
        {
            return false;
        }
        if (rollout is null)
        {
            return false;
        }
        var before = rollout.Copy();
        // Everything the gates judge is read first; the step itself only decides.
        var gates = await ReadGatesAsync(rollout, cancellationToken);
        var push = RolloutTransitions.Step(rollout, DateTimeOffset.UtcNow, gates, checks);
        if (rollout.State != before.State)
        {
            ControllerLog.RolloutStopped(logger, rollout.Id, RolloutWords.Of(rollout.State), rollout.Reason);
        }
        var numbered = await MarkUnchangedAsync(rollout, push, cancellationToken);
        if (rollout.Equals(before))
        {
            return false;
        }
        try
        {
            await SaveAsync(rollout, push.Count > 0 ? push.ToDictionary(p => p.Node, p => (ulong?)p.Pin, StringComparer.Ordinal) : null, numbered, lease: _lease?.Lease,
                expected: before.UpdatedAt, cancellationToken: cancellationToken);
        }
        catch (LeaseLostException)
        {
            // Fenced: another controller steps it now. Nothing of this step was written or pushed.
            await DropLeaseAsync();
            return false;
        }
        catch (RolloutChangedException)
        {
            // An operator (through any controller) changed it meanwhile: read it again next step.
            return true;
        }
        await PushAsync(push.Select(p => p.Node));
        // Only a move or a state change calls for the next step at once; a detail change ("holding") waits for the tick.
        return push.Count > 0 || rollout.State != before.State || rollout.Batch != before.Batch
            || rollout.Nodes.Zip(before.Nodes).Any(pair => pair.First.State != pair.Second.State);
    }

    /// <summary>
    /// A node whose state the new pin does not change gets no push and sends no new report; its gate does not wait for one.
    /// Returns the revision each moved node's state is numbered by under its new pin (what status compares applied with).
    /// </summary>
    private async Task<Dictionary<string, ulong>> MarkUnchangedAsync(RolloutRecord rollout, List<(string Node, ulong Pin)> moves, CancellationToken cancellationToken)
    {
        var numbered = new Dictionary<string, ulong>(StringComparer.Ordinal);
        foreach (var (name, pin) in moves)
        {
            if (await store.Nodes.GetAsync(name, cancellationToken) is { } record)
            {
                var now = await desired.ForAsync(record, cancellationToken);
                var then = await desired.ForAsync(record with { PinnedRevision = pin }, cancellationToken);
                rollout.Nodes.First(n => n.Node == name).Unchanged = now is not null && now.Sha256 == then?.Sha256;
                if (then is not null)
                {
                    numbered[name] = then.Revision;
                }
            }
        }
        return numbered;
    }

    /// <summary>
    /// When a rollout ends (done, aborted, rolled back): the pins that hold a node on what the newest revision gives it anyway
    /// end (null), so a pin left afterwards is one that holds something different; with the revisions those nodes are numbered by.
    /// <paramref name="pins"/> are those being written in the same save.
    /// </summary>
    private async Task<(Dictionary<string, ulong?> Pins, Dictionary<string, ulong> Desired)> ReleasePinsAsync(IReadOnlyDictionary<string, ulong?>? pins,
        IReadOnlyDictionary<string, ulong>? numbered, CancellationToken cancellationToken)
    {
        var released = new Dictionary<string, ulong?>(pins ?? new Dictionary<string, ulong?>(), StringComparer.Ordinal);
        var revisions = new Dictionary<string, ulong>(numbered ?? new Dictionary<string, ulong>(), StringComparer.Ordinal);
        if (await store.Revisions.LatestAsync(cancellationToken) is not { } latest)
        {
            return (released, revisions);
        }
        foreach (var stored in await store.Nodes.ListWithoutReportsAsync(cancellationToken))
        {
            var node = stored with
            {
                PinnedRevision = released.TryGetValue(stored.Name, out var pin) ? pin : stored.PinnedRevision,
                DesiredRevision = revisions.TryGetValue(stored.Name, out var revision) ? revision : stored.DesiredRevision,
            };
            if (node.PinnedRevision is null)
            {
                continue;
            }
            var held = await desired.ForAsync(node, latest, cancellationToken);
            var following = await desired.ForAsync(node with { PinnedRevision = null }, latest, cancellationToken);
            if (held?.Sha256 == following?.Sha256)
            {
                released[node.Name] = null;
                if (following is not null)
                {
                    revisions[node.Name] = following.Revision;
                }
            }
        }
        return (released, revisions);
    }

    /// <summary>
    /// The HTTP checks of every node in the active rollout whose gate is at the checks (a fresh report of its
    /// revision without failures): node → the failing check described, or null when all pass. Run without the lock.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, string?>> RunChecksAsync(CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, string?>(StringComparer.Ordinal);
        if ((await store.Rollouts.ActiveAsync(cancellationToken: cancellationToken)) is not { State: RolloutState.Running or RolloutState.RollingBack } rollout || RolloutPlan.Parse(rollout.Settings) is not { Checks.Count: > 0 } plan)
        {
            return results;
        }
        foreach (var node in rollout.Nodes.Where(n => n.State is RolloutNodeState.Moving or RolloutNodeState.Returning))
        {
            if (await ReadGateAsync(node, cancellationToken) is { Record: { } record, Fresh: { } report } && !report.AnyFailed)
            {
                results[node.Node] = await FailingCheckAsync(plan.Checks, record, cancellationToken);
            }
        }
        return results;
    }

    /// <summary>The node's record and its report of the revision it is moving to, when that report came after the move; else nulls.</summary>
    private async Task<GateView> ReadGateAsync(RolloutNodeRecord node, CancellationToken cancellationToken)
    {
        if (await store.Nodes.GetAsync(node.Node, cancellationToken) is not { } record || await desired.ForAsync(record, cancellationToken) is not { } state)
        {
            return GateView.Gone;
        }
        var movedAt = node.MovedAt;
        var report = record.LastReport;
        var fresh = report is not null && !report.DryRun && report.Revision == state.Revision
            && (record.LastReportAt > movedAt || record.AppliedRevision == state.Revision && node.Unchanged);
        return new GateView(record, fresh ? report : null, state.Revision, sessions.IsConnected(record));
    }

    /// <summary>What a gate sees of each node the rollout is moving or returning, read before the step decides.</summary>
    private async Task<Dictionary<string, GateView>> ReadGatesAsync(RolloutRecord rollout, CancellationToken cancellationToken)
    {
        var gates = new Dictionary<string, GateView>(StringComparer.Ordinal);
        foreach (var node in rollout.Nodes.Where(n => n.State is RolloutNodeState.Moving or RolloutNodeState.Returning))
        {
            gates[node.Node] = await ReadGateAsync(node, cancellationToken);
        }
        return gates;
    }

    /// <summary>The first HTTP check that does not pass on <paramref name="node"/>, described; null when all pass.</summary>
    private async Task<string?> FailingCheckAsync(IReadOnlyList<PlannedCheck> checks, NodeRecord node, CancellationToken cancellationToken)
    {
        foreach (var check in checks)
        {
            var url = check.Url.Replace("{node}", node.Name, StringComparison.Ordinal)
                .Replace("{address}", node.Labels.GetValueOrDefault("address") ?? "", StringComparison.Ordinal);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(check.Timeout);
            try
            {
                using var response = await _http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                var status = ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture);
                if (!check.Expect.IsMatch(status))
                {
                    return $"check {url}: HTTP {status}, expected {check.ExpectStatus}";
                }
            }
            catch (HttpRequestException ex)
            {
                return $"check {url}: {ex.InnerException?.Message ?? ex.Message}";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return $"check {url}: no answer within {Shared.Cli.Durations.Format(check.Timeout)}";
            }
        }
        return null;
    }

    /// <summary>
    /// With a shared store, holds the lease of the active rollout (taking it when free or expired, giving it up when
    /// none is active or it was lost); false when another controller holds it, so this one does not step it.
    /// </summary>
    private async Task<bool> HoldLeaseAsync(RolloutRecord? active)
    {
        if (!store.Engine.IsShared)
        {
            return true;
        }
        var name = active is null ? null : $"rollout:{active.Id}";
        if (_lease is not null && (_lease.IsLost || _lease.Lease.Name != name))
        {
            await DropLeaseAsync();
        }
        if (active is null || _lease is not null)
        {
            return active is not null;
        }
        if (DateTimeOffset.UtcNow < _nextLeaseTry)
        {
            return false;
        }
        _lease = await HeldLease.TryTakeAsync(store, name!, sessions.ControllerId, LeaseTtl, logger);
        if (_lease is null)
        {
            // Held by another controller: try again once a third of a lease has passed, not every tick.
            _nextLeaseTry = DateTimeOffset.UtcNow + LeaseTtl / 3;
            return false;
        }
        // Taken over (or started here): the rollout was read after the lease was taken, so this step works from what
        // the last holder wrote; nodes it was moving get their state again (a no-op for those that have it).
        LogResumed(active);
        await PushAsync(active.Nodes.Where(n => n.State is RolloutNodeState.Moving or RolloutNodeState.Returning).Select(n => n.Node));
        return true;
    }

    private async Task DropLeaseAsync()
    {
        if (_lease is { } lease)
        {
            _lease = null;
            await lease.DisposeAsync();
        }
    }

    /// <summary>
    /// Stores the rollout with the events of this step (by <paramref name="actor"/>: the engine itself unless an operator acted),
    /// the pins it sets and, when it ends here, the pins it no longer needs released.
    /// </summary>
    private async Task SaveAsync(RolloutRecord rollout, IReadOnlyDictionary<string, ulong?>? pins = null, IReadOnlyDictionary<string, ulong>? numbered = null,
        string actor = "controller", StoreLease? lease = null, DateTimeOffset? expected = null, CancellationToken cancellationToken = default)
    {
        var stored = await store.Rollouts.GetAsync(rollout.Id, cancellationToken);
        var steps = RolloutEvents.Between(stored, rollout, actor);
        if (stored is not null && RolloutWords.IsActive(stored.State) && !RolloutWords.IsActive(rollout.State))
        {
            (pins, numbered) = await ReleasePinsAsync(pins, numbered, cancellationToken);
        }
        await store.Rollouts.SaveAsync(rollout, pins, steps, lease, expected, numbered, cancellationToken);
        foreach (var step in steps.Where(s => s.Kind is "rollout.node" or "rollout.batch" or "rollout.promoted"))
        {
            // State changes are logged where they are decided (RolloutStopped, RolloutControlled); these are the moves.
            ControllerLog.RolloutStep(logger, rollout.Id, step.Summary);
        }
        Changed?.Invoke(rollout);
    }

    private void LogResumed(RolloutRecord rollout)
    {
        var state = RolloutWords.Of(rollout.State);
        ControllerLog.RolloutResumed(logger, rollout.Id, state, rollout.Batch);
    }

    /// <summary>Pushes each node its desired state as the store now says (pins included).</summary>
    private Task<IReadOnlyList<string>> PushAsync(IEnumerable<string> nodes) => sessions.PushCurrentAsync(nodes);

    /// <summary>The revision a node runs now: its pin, else the one it was last given.</summary>
    private static ulong Current(NodeRecord node) => node.PinnedRevision ?? node.DesiredRevision;

    /// <inheritdoc/>
    public void Dispose()
    {
        _wake.Dispose();
        _http.Dispose();
    }
}
