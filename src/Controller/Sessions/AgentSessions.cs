using System.Collections.Concurrent;
using Google.Protobuf;
using Hawser.Controller.Api;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace Hawser.Controller.Sessions;

/// <summary>
/// The connected agents, one stream each (<c>AgentService.Connect</c>). A node's identity is its
/// certificate: the stream must say hello with that node's name, and it only ever receives that
/// node's desired state and can only report about itself.
/// </summary>
public sealed partial class AgentSessions(ControllerStore store, DesiredStates desired, ILogger logger, NodeRateLimits? limits = null) : AgentService.AgentServiceBase
{
    private readonly NodeRateLimits _limits = limits ?? new NodeRateLimits(new NodeRateOptions());

    private readonly ConcurrentDictionary<string, Session> _sessions = new(StringComparer.Ordinal);
    private long _nextMessageId;
    private volatile bool _draining;

    // Pushes are ordered by tickets taken before their state was read (see PushCurrentAsync); the lock is held only
    // while states are queued, never across the store or an agent's stream.
    private long _pushTickets;
    private readonly Lock _queueing = new();

    private sealed class Session(IServerStreamWriter<ControllerMessage> writer, CancellationTokenSource closed, string peer, long sendQueueBytes, Action abort) : IDisposable
    {
        public CancellationTokenSource Closed { get; } = closed;

        /// <summary>What waits to be written to this stream.</summary>
        public SessionOutbox Outbox { get; } = new(sendQueueBytes);

        /// <summary>The agent's remote address, for the log.</summary>
        public string Peer { get; } = peer;

        public ConcurrentDictionary<ulong, TaskCompletionSource<StatusReport>> Pending { get; } = new();

        public ConcurrentDictionary<ulong, TaskCompletionSource<Ack>> Acks { get; } = new();

        /// <summary>The hash of the desired state last sent, so the same state is not pushed twice.</summary>
        public string? LastPushedSha { get; set; }

        /// <summary>The newest push ticket that considered this stream: a state read under an older ticket is not queued.</summary>
        public long LastPushTicket { get; set; }

        /// <summary>Why a report of this stream could not be stored (the stream then ends), or null.</summary>
        public string? StoreFailure { get; set; }

        /// <summary>
        /// What the store holds of this node's reports since this stream stored one (null before: read from the store). A node's
        /// reports come over its one stream (a newer stream replaces it), so this is the store's value without a read.
        /// </summary>
        public StoredReports? Stored { get; set; }

        /// <summary>The trace parent of the state last pushed on this stream (empty: not traced): the only trace its converge spans may join.</summary>
        public string TraceParent { get; set; } = "";

        private readonly Lock _mailboxLock = new();
        private readonly SemaphoreSlim _mailboxFilled = new(0, 1);
        private StatusReport? _held;
        // The converge of a pushed revision (its outcome), kept when a later round of the same revision replaced it
        // before it was stored: stored first, so what the revision changed is not lost to a round that changed nothing.
        private StatusReport? _heldOutcome;

        /// <summary>
        /// Holds <paramref name="report"/> for storing, replacing one not stored yet (true: it replaced one). A replaced
        /// report of a newly pushed revision is kept apart and stored first, so coalescing never turns the converge of a
        /// pushed revision into drift, nor loses what it changed; at most two reports are ever held.
        /// </summary>
        public bool Hold(StatusReport report)
        {
            lock (_mailboxLock)
            {
                var replaced = _held;
                if (report.DesiredStateNew)
                {
                    // A newer converge of a new state is the outcome now.
                    _heldOutcome = null;
                }
                else if (replaced is { DesiredStateNew: true } && replaced.Revision == report.Revision)
                {
                    _heldOutcome = replaced;
                }
                _held = report;
                if (replaced is null && _heldOutcome is null)
                {
                    _mailboxFilled.Release();
                }
                return replaced is not null;
            }
        }

        /// <summary>Waits for a held report and takes it (a held outcome before the newest report).</summary>
        public async Task<StatusReport> TakeAsync(CancellationToken cancellationToken)
        {
            await _mailboxFilled.WaitAsync(cancellationToken);
            lock (_mailboxLock)
            {
                if (_heldOutcome is { } outcome)
                {
                    _heldOutcome = null;
                    // The newest report is still held: the next take gets it without waiting.
                    _mailboxFilled.Release();
                    return outcome;
                }
                var report = _held!;
                _held = null;
                return report;
            }
        }

        /// <summary>
        /// Queues one message for the stream's writer and returns at once. A stream that ended meanwhile (a push can hold
        /// a session that just closed), or whose queue is full (the stream is then reset), is OperationCanceledException.
        /// </summary>
        public void Send(ControllerMessage message)
        {
            if (Closed.IsCancellationRequested)
            {
                throw new OperationCanceledException("the stream closed");
            }
            if (!Outbox.TryQueue(message))
            {
                // Reset, not just ended: the writer may be stuck in a write the agent's shut window never lets finish.
                abort();
                _ = Closed.CancelAsync();
                throw new OperationCanceledException("the agent does not take what is sent (its send queue is full)");
            }
        }

        /// <summary>Writes what is queued, in order, until the stream closes; a write that fails ends the stream.</summary>
        public async Task WriteAllAsync()
        {
            try
            {
                await Outbox.DrainAsync(writer, Closed.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or InvalidOperationException or IOException)
            {
                // The stream ended (or was reset) under the writer.
            }
            finally
            {
                Outbox.Close();
                await Closed.CancelAsync();
            }
        }

        /// <summary>1 while a release chunk is being read for this stream (one at a time).</summary>
        public int ServingRelease;

        /// <summary>Work started for this stream (a resend), which the stream's end waits for.</summary>
        public Shared.Threading.TrackedTasks Background { get; } = new();

        public void Dispose() => _mailboxFilled.Dispose();
    }

    /// <summary>How many agents have a stream open.</summary>
    public int ConnectedCount => _sessions.Count;

    /// <summary>True when <paramref name="node"/> has a stream open to this controller.</summary>
    public bool IsConnected(string node) => _sessions.ContainsKey(node);

    /// <summary>True when <paramref name="node"/> has a stream open to this controller, or to another live one sharing the store.</summary>
    public bool IsConnected(NodeRecord node) => _sessions.ContainsKey(node.Name) || node.ConnectedTo is not null;

    /// <summary>With several controllers, the one holding <paramref name="node"/>'s stream (this one's id, another's, or empty for none); empty with a store of one's own.</summary>
    public string HolderOf(NodeRecord node) => !store.Engine.IsShared ? "" : _sessions.ContainsKey(node.Name) ? ControllerId : node.ConnectedTo ?? "";

    /// <summary>Called after a node's status report is stored (the rollout engine judges its gate then).</summary>
    public Action<string>? Reported { get; set; }

    /// <summary>Serves one agent's stream until it ends.</summary>
    public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<ControllerMessage> responseStream, ServerCallContext context)
    {
        var identity = CallerIdentity.Of(context);
        using var closed = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
        await using var messages = requestStream.ReadAllAsync(closed.Token).GetAsyncEnumerator(closed.Token);
        if (!await messages.MoveNextAsync() || messages.Current.BodyCase != AgentMessage.BodyOneofCase.Hello)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, "an agent stream starts with a hello");
        }
        var hello = messages.Current.Hello;
        if (hello.NodeName != identity.Name)
        {
            ControllerLog.Refused(logger, context.Method, context.Peer, StatusCode.PermissionDenied, $"certificate of '{identity.Name}' said hello as '{hello.NodeName}'");
            throw ApiError.Of(StatusCode.PermissionDenied, $"this certificate belongs to node '{identity.Name}', not '{hello.NodeName}'");
        }
        var budget = _limits.For(identity.Name);
        if (!budget.Connects.TryTake())
        {
            ControllerLog.Refused(logger, context.Method, context.Peer, StatusCode.ResourceExhausted, $"node '{identity.Name}' opened more than {_limits.Options.ConnectBurst} streams in a short time");
            throw ApiError.Of(StatusCode.ResourceExhausted, $"node '{identity.Name}' reconnects too often (at most {_limits.Options.ConnectsPerMinute:0.#} streams a minute after a burst of {_limits.Options.ConnectBurst}); try again later");
        }
        // What a node says of itself is bounded before it is stored (NodeInputBounds).
        var facts = hello.Facts is null ? null : Api.FactsWire.Facts(NodeInputBounds.Bound(hello.Facts));
        var agentVersion = NodeInputBounds.Cut(hello.AgentVersion, NodeInputBounds.MaxVersionChars);
        await store.Nodes.RecordHelloAsync(identity.Name, agentVersion, facts, hello.AppliedRevision, context.CancellationToken);
        // Recorded first, so `status` shows the version refused and why (the node's ControlApi listing says it again).
        if (ControllerVersion.HelloProblem(agentVersion) is { } problem)
        {
            ControllerLog.Refused(logger, context.Method, context.Peer, StatusCode.FailedPrecondition, $"node '{identity.Name}': {problem}");
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{identity.Name}: {problem}"),
                new Metadata { { Shared.Protocol.NodeRefusal.Trailer, Shared.Protocol.NodeRefusal.Version } });
        }
        using var session = new Session(responseStream, closed, context.Peer, _limits.Options.SendQueueBytes, () => context.GetHttpContext().Abort());
        if (_sessions.TryGetValue(identity.Name, out var previous))
        {
            // The newest stream wins: an agent that reconnects before the old stream timed out. Said as a
            // warning with both addresses: two agents sharing one identity keep replacing each other this way.
            ControllerLog.StreamReplaced(logger, identity.Name, context.Peer, previous.Peer);
            await previous.Closed.CancelAsync();
        }
        _sessions[identity.Name] = session;
        ControllerLog.Connected(logger, identity.Name, context.Peer);
        if (store.Engine.IsShared)
        {
            // Other controllers relay this node's messages here. Marked once the session is registered: an older
            // stream of the node ending meanwhile clears the mark only while no newer one is registered.
            await store.NodeMessages.SetConnectedToAsync(identity.Name, ControllerId);
        }
        var storing = Task.CompletedTask;
        var writing = session.WriteAllAsync();
        try
        {
            await SendDesiredStateAsync(identity.Name, session, hello.AppliedRevision);
            if (hello.Trial)
            {
                session.Send(new ControllerMessage { Request = new AgentRequest { ConvergeNow = new ConvergeNow() } });
            }
            // One writer of this node's reports to the store, at the node's report rate; the reader below never waits on it.
            storing = StoreReportsAsync(identity.Name, session, budget, closed.Token);
            while (await NextAsync(messages, budget, closed.Token))
            {
                if (messages.Current.BodyCase == AgentMessage.BodyOneofCase.Status)
                {
                    Receive(identity.Name, session, budget, messages.Current.Status);
                }
                else if (messages.Current.BodyCase == AgentMessage.BodyOneofCase.Ack && session.Acks.TryRemove(messages.Current.Ack.InReplyTo, out var waiting))
                {
                    waiting.TrySetResult(messages.Current.Ack);
                }
                else if (messages.Current.BodyCase == AgentMessage.BodyOneofCase.ReleaseRequest)
                {
                    ServeRelease(session, messages.Current.ReleaseRequest);
                }
            }
        }
        catch (Exception ex) when (session.Outbox.Overflow is not null && ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // Reset because the agent stopped taking what was sent (said below): its reads fail with the reset.
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested && _draining)
        {
            // Said, not dropped: the agent moves to its next controller at once.
            throw new RpcException(new Status(StatusCode.Unavailable, "this controller is stopping; connect to another"));
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested && session.StoreFailure is { } failure)
        {
            // A controller that cannot store what its agents report sends them to another that can.
            throw new RpcException(new Status(StatusCode.Unavailable, $"this controller cannot store reports ({failure}); connect to another"));
        }
        catch (OperationCanceledException) when (closed.IsCancellationRequested)
        {
            // Replaced by a newer stream, or the node was removed.
        }
        finally
        {
            await closed.CancelAsync();
            await storing;
            await writing;
            await session.Background.WhenAllAsync();
            if (session.Outbox.Overflow is var (waiting, bytes))
            {
                await StoreStalledAsync(identity.Name, session.Peer, waiting, bytes);
            }
            if (_sessions.TryRemove(new KeyValuePair<string, Session>(identity.Name, session)) && store.Engine.IsShared && !_sessions.ContainsKey(identity.Name))
            {
                try
                {
                    await store.NodeMessages.SetConnectedToAsync(identity.Name, null, onlyIf: ControllerId);
                }
                catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
                {
                    // The store is unreachable (a restart of PostgreSQL); the mark goes stale and relays to it time out.
                }
            }
            foreach (var pending in session.Pending.Values)
            {
                pending.TrySetCanceled();
            }
            foreach (var ack in session.Acks.Values)
            {
                ack.TrySetCanceled();
            }
            ControllerLog.Disconnected(logger, identity.Name);
        }
    }

    /// <summary>
    /// Queues for each connected node whose desired state changed its new state and returns at once (a stalled agent
    /// delays only itself); returns the nodes queued for. <paramref name="states"/> are already resolved and stored.
    /// </summary>
    public IReadOnlyList<string> Push(IReadOnlyDictionary<string, NodeDesiredState> states) => SendStates(states, Interlocked.Increment(ref _pushTickets));

    /// <summary>
    /// Reads what each of <paramref name="nodes"/> should run from the store and pushes it. A ticket is taken before the
    /// read, and a node's stream takes a state only from a newer ticket than any it was offered: a state read before a
    /// change is never queued after one read after it, with no lock held across the read.
    /// </summary>
    public async Task<IReadOnlyList<string>> PushCurrentAsync(IEnumerable<string> nodes)
    {
        var ticket = Interlocked.Increment(ref _pushTickets);
        var states = new Dictionary<string, NodeDesiredState>(StringComparer.Ordinal);
        var connected = nodes.Where(_sessions.ContainsKey).ToHashSet(StringComparer.Ordinal);
        if (connected.Count > ReadNodesOneByOneUpTo)
        {
            // Many nodes (another controller's apply reaching all of this one's agents) are read in one query, not one each.
            if (await store.Revisions.LatestAsync() is { } latest)
            {
                foreach (var record in (await store.Nodes.ListWithoutReportsAsync()).Where(n => connected.Contains(n.Name)))
                {
                    if (await desired.ForAsync(record, latest) is { } state)
                    {
                        states[record.Name] = state;
                    }
                }
            }
        }
        else
        {
            foreach (var name in connected)
            {
                if (await store.Nodes.GetAsync(name) is { } record && await desired.ForAsync(record) is { } state)
                {
                    states[name] = state;
                }
            }
        }
        return SendStates(states, ticket);
    }

    /// <summary>Up to this many nodes, a push reads each node's row by itself; beyond, the whole table at once.</summary>
    private const int ReadNodesOneByOneUpTo = 32;

    /// <summary>
    /// Queues each changed state read under <paramref name="ticket"/> for its node's stream (never waiting on an agent or
    /// the store); returns the nodes queued for.
    /// </summary>
    private List<string> SendStates(IReadOnlyDictionary<string, NodeDesiredState> states, long ticket)
    {
        var sent = new List<string>();
        lock (_queueing)
        {
            foreach (var (node, state) in states)
            {
                if (_sessions.TryGetValue(node, out var session) && Offer(session, state, ticket))
                {
                    sent.Add(node);
                }
            }
        }
        sent.Sort(StringComparer.Ordinal);
        return sent;
    }

    /// <summary>
    /// Queues <paramref name="state"/> unless the stream was offered a state read later, or already has this one; true when
    /// queued. Called under <see cref="_queueing"/>.
    /// </summary>
    private bool Offer(Session session, NodeDesiredState state, long ticket, bool always = false)
    {
        if (session.LastPushTicket > ticket)
        {
            return false;
        }
        session.LastPushTicket = ticket;
        if (!always && session.LastPushedSha == state.Sha256)
        {
            return false;
        }
        session.LastPushedSha = state.Sha256;
        try
        {
            var message = Message(state);
            session.TraceParent = message.DesiredState.TraceParent;
            session.Send(message);
            return true;
        }
        catch (OperationCanceledException)
        {
            // The stream closed meanwhile, or its agent stopped taking what is sent; it gets the state when it reconnects.
            return false;
        }
    }

    private ControllerMessage Message(NodeDesiredState state)
    {
        var message = new DesiredState
        {
            Revision = state.Revision, NodeSpecYaml = state.Yaml, AcmeAccountThumbprint = state.AcmeThumbprint,
            // Pushed inside a traced apply: the agent's converge reports its spans under this push.
            TraceParent = System.Diagnostics.Activity.Current is { Recorded: true, IdFormat: System.Diagnostics.ActivityIdFormat.W3C } push ? push.Id! : "",
        };
        foreach (var (name, material) in state.Certificates)
        {
            message.Certificates[name] = material;
        }
        return new ControllerMessage { MessageId = (ulong)Interlocked.Increment(ref _nextMessageId), DesiredState = message };
    }

    /// <summary>Why <see cref="BroadcastAsync"/> could not tell a node: no controller holds a stream from it.</summary>
    public const string NotConnected = "not connected";

    /// <summary>
    /// Sends each of <paramref name="nodes"/> a message made by <paramref name="make"/> and waits for every
    /// acknowledgement; returns, for each node that did not acknowledge it as done, why (empty: all did).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> BroadcastAsync(IReadOnlyList<string> nodes, Func<string, ControllerMessage> make, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var failures = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        var elsewhere = store.Engine.IsShared ? nodes.Where(n => !_sessions.ContainsKey(n)).ToList() : [];
        var relayed = elsewhere.Count > 0 ? RelayBroadcastAsync(elsewhere, make, timeout, failures, cancellationToken) : Task.CompletedTask;
        await Task.WhenAll(nodes.Except(elsewhere).Select(async node =>
        {
            if (!_sessions.TryGetValue(node, out var session))
            {
                failures[node] = NotConnected;
                return;
            }
            try
            {
                var ack = await AskAsync(session, session.Acks, make(node), timeout, cancellationToken);
                if (!ack.Ok)
                {
                    failures[node] = ack.Error;
                }
            }
            catch (TimeoutException)
            {
                failures[node] = $"did not acknowledge within {timeout.TotalSeconds:0} s";
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failures[node] = "disconnected";
            }
        }));
        await relayed;
        return failures;
    }

    /// <summary>
    /// Asks a connected agent (with a shared store, connected to any controller) to dry-run <paramref name="yaml"/>;
    /// null when it is not connected or does not answer in time.
    /// </summary>
    public async Task<StatusReport?> DryRunAsync(string node, string yaml, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = new ControllerMessage { Request = new AgentRequest { DryRun = new DryRun { Candidate = new DesiredState { NodeSpecYaml = yaml } } } };
        try
        {
            if (!_sessions.TryGetValue(node, out var session))
            {
                return store.Engine.IsShared ? await RelayDryRunAsync(node, request, timeout, cancellationToken) : null;
            }
            return await AskAsync(session, session.Pending, request, timeout, cancellationToken);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> (numbered here) and waits for the agent's answer to it, which the
    /// stream's reader completes through <paramref name="waiting"/>; throws TimeoutException or OperationCanceledException.
    /// </summary>
    private async Task<T> AskAsync<T>(Session session, ConcurrentDictionary<ulong, TaskCompletionSource<T>> waiting, ControllerMessage message,
        TimeSpan timeout, CancellationToken cancellationToken)
    {
        message.MessageId = (ulong)Interlocked.Increment(ref _nextMessageId);
        var answer = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        waiting[message.MessageId] = answer;
        try
        {
            session.Send(message);
            return await answer.Task.WaitAsync(timeout, cancellationToken);
        }
        finally
        {
            waiting.TryRemove(message.MessageId, out _);
        }
    }

    /// <summary>Ends every agent stream, so shutdown does not wait for them; agents reconnect to the next controller.</summary>
    public void CloseAll()
    {
        _draining = true;
        foreach (var session in _sessions.Values)
        {
            session.Closed.Cancel();
        }
    }

    /// <summary>Closes a node's stream (after it was removed) and forgets its rate budget.</summary>
    public void Disconnect(string node)
    {
        _limits.Forget(node);
        if (_sessions.TryGetValue(node, out var session))
        {
            session.Closed.Cancel();
        }
    }

    /// <summary>
    /// On (re)connect, or when the agent asks (its stored copy is unreadable, <paramref name="appliedRevision"/> 0):
    /// the node's desired state, unless the agent says it has applied that revision already.
    /// </summary>
    private async Task SendDesiredStateAsync(string node, Session session, ulong appliedRevision)
    {
        var ticket = Interlocked.Increment(ref _pushTickets);
        if (await store.Nodes.GetAsync(node) is not { } record || await desired.ForAsync(record) is not { } state)
        {
            return;
        }
        if (record.DesiredRevision != state.Revision)
        {
            await store.Nodes.SetDesiredRevisionAsync(node, state.Revision);
        }
        // Certificate material and the ACME thumbprint can change without a new revision; an agent
        // that was away gets them again (converging to what it has is cheap).
        var send = appliedRevision != state.Revision || state.Certificates.Count > 0 || state.AcmeThumbprint.Length > 0;
        lock (_queueing)
        {
            if (send)
            {
                if (!Offer(session, state, ticket, always: true) && session.Closed.IsCancellationRequested)
                {
                    throw new OperationCanceledException("the stream closed");
                }
            }
            else if (session.LastPushTicket <= ticket)
            {
                // The agent has it already: only remembered, so a push of the same state is not sent.
                session.LastPushTicket = ticket;
                session.LastPushedSha = state.Sha256;
            }
        }
    }

    /// <summary>The next message of a node's stream, read no faster than the node's message budget allows (its writes wait meanwhile).</summary>
    private static async Task<bool> NextAsync(IAsyncEnumerator<AgentMessage> messages, NodeBudget budget, CancellationToken cancellationToken)
    {
        if (!budget.Messages.TryTake())
        {
            budget.MessageSlowed();
            await budget.Messages.TakeAsync(cancellationToken);
        }
        return await messages.MoveNextAsync();
    }

    /// <summary>
    /// A report as it arrives: an answer to a request completes it; a request for the desired state is answered (one at a
    /// time, at most once per <see cref="NodeRateOptions.ResendInterval"/>); anything else is held for the store.
    /// </summary>
    /// <summary>
    /// Answers an agent's request for a chunk of an agent release beside the read loop (the store is read): one request at a
    /// time per stream, so a node holds at most one chunk of the controller's memory and send queue.
    /// </summary>
    private void ServeRelease(Session session, ReleaseRequest request)
    {
        if (Interlocked.Exchange(ref session.ServingRelease, 1) == 1)
        {
            TrySend(session, new ControllerMessage { ReleaseChunk = new ReleaseChunk { InReplyTo = request.Id, Error = "one release request at a time" } });
            return;
        }
        session.Background.Add(ServeAsync());

        async Task ServeAsync()
        {
            try
            {
                var answer = new ReleaseChunk { InReplyTo = request.Id, Offset = request.Offset, ChunkSize = Store.Repositories.AgentReleaseRepository.ChunkBytes };
                var version = NodeInputBounds.Cut(request.Version, NodeInputBounds.MaxVersionChars);
                var release = await store.AgentReleases.GetAsync(request.Version, request.Arch, session.Closed.Token);
                if (release is null)
                {
                    answer.Error = $"no agent release {version} for {NodeInputBounds.Cut(request.Arch, 16)} is published here";
                }
                else if (request.Offset % (ulong)answer.ChunkSize != 0 || request.Offset > (ulong)release.Size)
                {
                    answer.Error = $"offset {request.Offset} is not a multiple of {answer.ChunkSize} within the binary's {release.Size} bytes";
                }
                else
                {
                    answer.Manifest = Google.Protobuf.ByteString.CopyFrom(release.Manifest);
                    answer.Signature = Google.Protobuf.ByteString.CopyFrom(release.Signature);
                    var chunk = await store.AgentReleases.ChunkAsync(release.Version, release.Architecture, (long)(request.Offset / (ulong)answer.ChunkSize), session.Closed.Token);
                    answer.Data = chunk is null ? Google.Protobuf.ByteString.Empty : Google.Protobuf.ByteString.CopyFrom(chunk);
                }
                TrySend(session, new ControllerMessage { ReleaseChunk = answer });
            }
            catch (OperationCanceledException)
            {
                // The stream ended; the agent asks again from where its file ends.
            }
            catch (Exception ex) when (ex is System.Data.Common.DbException or Store.StoreException)
            {
                ControllerLog.ReleaseNotServed(logger, session.Peer, ex.Message);
                TrySend(session, new ControllerMessage { ReleaseChunk = new ReleaseChunk { InReplyTo = request.Id, Error = "the controller cannot read the release now; try again" } });
            }
            finally
            {
                Volatile.Write(ref session.ServingRelease, 0);
            }
        }
    }

    private static void TrySend(Session session, ControllerMessage message)
    {
        try
        {
            session.Send(message);
        }
        catch (OperationCanceledException)
        {
            // The stream ended meanwhile.
        }
    }

    private void Receive(string node, Session session, NodeBudget budget, StatusReport sent)
    {
        var report = NodeInputBounds.Bound(sent);
        // A node's spans join only the trace of the push it was sent, never one it names itself.
        if (report.Spans.Count > 0 && report.TraceParent.Length > 0 && report.TraceParent == session.TraceParent)
        {
            session.TraceParent = "";
            Tracing.ControllerTracing.ExportConverge(node, report);
        }
        // Exported or not, spans are not kept with the report while it waits for the store.
        report.Spans.Clear();
        if (report.NeedsDesiredState && budget.TryStartResend())
        {
            ControllerLog.DesiredStateResent(logger, node, report.Resources.FirstOrDefault()?.Error ?? "");
            session.Background.Add(ResendAsync());
        }
        if (report.InReplyTo != 0 && session.Pending.TryGetValue(report.InReplyTo, out var waiting))
        {
            waiting.TrySetResult(report);
            return;
        }
        if (report.DryRun)
        {
            return;
        }
        if (session.Hold(report))
        {
            budget.Coalesced();
        }

        async Task ResendAsync()
        {
            try
            {
                await SendDesiredStateAsync(node, session, appliedRevision: 0);
            }
            catch (Exception ex) when (ex is OperationCanceledException or StoreException or System.Data.Common.DbException)
            {
                // The stream closed (the agent gets the state when it reconnects), or the store failed (it asks again).
            }
            catch (Exception ex)
            {
                // Anything else is a bug; said, and the stream goes on (the agent asks again).
                ControllerLog.ResendFailed(logger, node, $"{ex.GetType().Name}: {ex.Message}");
            }
            finally
            {
                budget.ResendDone();
            }
        }
    }

    /// <summary>Stores the session's held reports one at a time, at the node's report rate, until the stream closes.</summary>
    private async Task StoreReportsAsync(string node, Session session, NodeBudget budget, CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                var report = await session.TakeAsync(cancellationToken);
                // Taken before the wait for a token: a newer report arriving meanwhile goes into the empty slot, and the
                // one taken here is stored first, so the store always ends with the newest.
                await budget.Reports.TakeAsync(cancellationToken);
                try
                {
                    await StoreReportAsync(node, session, budget, report);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store is unreachable (or failed otherwise): the stream ends (Connect says why), and the agent reports to another controller.
                    ControllerLog.ReportNotStored(logger, node, ex.Message);
                    session.StoreFailure = ex.Message;
                    await session.Closed.CancelAsync();
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The stream closed.
        }
        try
        {
            await StoreThrottledAsync(node, budget, force: true);
        }
        catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
        {
            ControllerLog.ReportNotStored(logger, node, ex.Message);
        }
    }

    /// <summary>A node's applied revision, its last report's digest and its stored outcome, as the store holds them.</summary>
    private sealed record StoredReports(ulong AppliedRevision, ReportDigest? Last, NodeReport? Outcome)
    {
        public ulong OutcomeRevision => Outcome?.Revision ?? 0;
    }

    private async Task StoreReportAsync(string node, Session session, NodeBudget budget, StatusReport sent)
    {
        var before = session.Stored;
        if (before is null)
        {
            if (await store.Nodes.GetAsync(node) is not { } record)
            {
                return;
            }
            before = new StoredReports(record.AppliedRevision, record.LastReport is { } last ? ReportDigest.Of(last) : null, record.OutcomeReport);
        }
        var report = Api.ReportWire.Report(sent);
        // A revision counts as applied once a converge of it left nothing failed, as the agent counts it.
        var applied = report.IsApplied ? report.Revision : before.AppliedRevision;
        // A converge of the revision already applied that had to change something put back drift, unless it was
        // the agent's first of what it was last sent (certificate material renewed under the same revision).
        var drift = !report.DesiredStateNew && before.AppliedRevision == report.Revision && report.Resources.Any(r => r.State == ResourceOutcome.Changed);
        var previous = before.Last;
        var events = new List<EventRecord>();
        foreach (var record in ReportEvents.Of(node, previous, report, drift))
        {
            // A node's events are news only up to its event budget; beyond it they are counted and said in one event.
            if (budget.Events.TryTake())
            {
                events.Add(record);
            }
            else
            {
                budget.EventDropped();
            }
        }
        // What a revision did is its first converge on the node (and every retry while that fails), not a later drift check.
        var isOutcome = report.DesiredStateNew || before.OutcomeRevision != report.Revision;
        // A round after an unfinished one (a certificate awaited, a failure retried) adds to what the revision did; the
        // last report stays what this round did.
        var outcome = isOutcome ? report.AfterUnfinished(before.Outcome) : before.Outcome;
        session.Stored = null;
        await store.Nodes.RecordReportAsync(node, applied, report, drift, events, isOutcome, isOutcome ? outcome : null);
        session.Stored = new StoredReports(applied, ReportDigest.Of(report), outcome);
        foreach (var record in events)
        {
            var line = record.Details.Count == 0 ? record.Summary : $"{record.Summary}: {string.Join("; ", record.Details)}";
            if (record.Kind == "node.failed")
            {
                ControllerLog.NodeFailed(logger, node, line);
            }
            else
            {
                ControllerLog.NodeReported(logger, node, line);
            }
        }
        await StoreThrottledAsync(node, budget, force: false);
        Reported?.Invoke(node);
    }

    /// <summary>Says, in the log and as an event, that a node's stream was closed because it stopped taking what was sent.</summary>
    private async Task StoreStalledAsync(string node, string peer, int waiting, long bytes)
    {
        var record = new EventRecord
        {
            Kind = "node.stalled", Actor = $"node:{node}", Node = node,
            Summary = $"node {node} stopped taking what the controller sends: {waiting} message(s), {bytes / 1024} KiB waited for it; its stream was closed, and it gets its desired state when it reconnects",
            Details =
            [
                $"the bound is {_limits.Options.SendQueueBytes / 1024} KiB per node (hawser-controller run --node-send-queue); other nodes were not held up",
                "a host frozen or thrashing under memory pressure does this; look at that host",
            ],
        };
        ControllerLog.NodeStalled(logger, node, peer, waiting, bytes / 1024);
        try
        {
            await store.Events.AddAsync(record);
        }
        catch (Exception ex) when (ex is StoreException or System.Data.Common.DbException)
        {
            // Said in the log above; the store's own failure is reported where the store is used next.
        }
    }

    /// <summary>Once per window, one event saying what a node's budgets held back (nothing when they held nothing back).</summary>
    private async Task StoreThrottledAsync(string node, NodeBudget budget, bool force)
    {
        if (budget.TakeThrottled(force) is not var (coalesced, dropped, slowed, window))
        {
            return;
        }
        var options = _limits.Options;
        var record = new EventRecord
        {
            Kind = "node.throttled", Actor = $"node:{node}", Node = node,
            Summary = $"node {node} sent more than its budget in the last {window.TotalSeconds:0} s: {coalesced} report(s) coalesced, {dropped} event(s) not logged, {slowed} message(s) read late",
            Details =
            [
                $"limits: {options.ReportsPerSecond:0.##} report(s)/s (burst {options.ReportBurst}), {options.EventsPerMinute:0.##} event(s)/min (burst {options.EventBurst}), {options.MessagesPerSecond:0.##} message(s)/s (burst {options.MessageBurst})",
                "the newest report is always stored; a real agent stays far inside these limits, so look at what runs on that host",
            ],
        };
        await store.Events.AddAsync(record);
        ControllerLog.NodeThrottled(logger, node, record.Summary);
    }
}
