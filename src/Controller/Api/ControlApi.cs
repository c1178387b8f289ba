using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Hawser.Controller.Pki;
using Hawser.Controller.Sessions;
using Hawser.Controller.Store;
using Hawser.Shared.Protocol.V1;
using Grpc.Core;
using Hawser.Controller.Tracing;
using Hawser.Shared.Spec;
using Hawser.Shared.Protocol;

namespace Hawser.Controller.Api;

/// <summary>
/// <c>hawser.v1.ControlService</c>, the API hawserctl uses; every method needs an operator whose role grants what
/// <see cref="MethodAuthorization"/> names for it, and an operator scoped by a selector sees and changes its own nodes only
/// (<see cref="OperatorScope"/>). Certificates, rollouts and operators are answered by their own classes.
/// </summary>
public sealed class ControlApi(ControllerStore store, ControllerPki pki, AgentSessions sessions, DesiredStates desired,
    CertificatesApi certificates, RolloutsApi rolloutsApi, Action? applied = null, Rollouts.RolloutEngine? rollouts = null,
    Microsoft.Extensions.Logging.ILogger? logger = null, OperatorsApi? operators = null, RefusalLog? refusals = null, ScopedChanges? scoped = null,
    NotificationsApi? notifications = null, AgentReleasesApi? releases = null)
    : ControlService.ControlServiceBase
{
    /// <summary>The most uses a join token may have.</summary>
    public const uint MaxTokenUses = 1_000_000;

    /// <summary>Revisions listed when the caller names no limit.</summary>
    public const int DefaultRevisionLimit = 20;

    /// <summary>How long a diff waits for each agent's dry run.</summary>
    public static readonly TimeSpan DryRunTimeout = TimeSpan.FromSeconds(60);

    /// <inheritdoc/>
    public override Task<ListNodesResponse> ListNodes(ListNodesRequest request, ServerCallContext context) => ListNodesAsync(request, CallerIdentity.OperatorOf(context), context.CancellationToken);

    /// <inheritdoc/>
    public override Task<Node> GetNode(GetNodeRequest request, ServerCallContext context) => GetNodeAsync(request, CallerIdentity.OperatorOf(context), context.CancellationToken);

    /// <inheritdoc/>
    public override Task<ListRevisionsResponse> ListRevisions(ListRevisionsRequest request, ServerCallContext context) => ListRevisionsAsync(request, context.CancellationToken);

    /// <inheritdoc/>
    public override async Task<RevisionSpec> GetRevision(GetRevisionRequest request, ServerCallContext context)
    {
        var revision = await store.Revisions.GetAsync(request.Number, context.CancellationToken) ?? throw ApiError.Of(StatusCode.NotFound, $"there is no revision {request.Number}; `hawserctl revisions` lists them");
        return new RevisionSpec { Revision = ToMessage(revision), SpecYaml = revision.SpecText };
    }

    /// <inheritdoc/>
    public override Task<ApplySpecResponse> ApplySpec(ApplySpecRequest request, ServerCallContext context) => ApplySpecAsync(request, context);

    /// <inheritdoc/>
    public override Task<DiffSpecResponse> DiffSpec(DiffSpecRequest request, ServerCallContext context) => DiffSpecAsync(request, context);

    /// <inheritdoc/>
    public override Task<CreateJoinTokenResponse> CreateJoinToken(CreateJoinTokenRequest request, ServerCallContext context) => CreateJoinTokenAsync(request, CallerIdentity.Of(context).Name, context.CancellationToken);

    /// <inheritdoc/>
    public override Task<RemoveNodeResponse> RemoveNode(RemoveNodeRequest request, ServerCallContext context) => RemoveNodeAsync(request, CallerIdentity.Of(context).Name, context.CancellationToken);

    /// <inheritdoc/>
    public override Task<RevokeJoinTokenResponse> RevokeJoinToken(RevokeJoinTokenRequest request, ServerCallContext context) => RevokeJoinTokenAsync(request, CallerIdentity.Of(context).Name, context.CancellationToken);

    /// <inheritdoc/>
    public override Task<ListCertificatesResponse> ListCertificates(ListCertificatesRequest request, ServerCallContext context) => certificates.ListCertificatesAsync(request, context);

    /// <inheritdoc/>
    public override async Task<Certificate> RenewCertificate(RenewCertificateRequest request, ServerCallContext context)
    {
        await RefuseAsync(context, await Scoped.RenewAsync(CallerIdentity.OperatorOf(context), request.Name, context.CancellationToken));
        return await certificates.RenewCertificateAsync(request, context);
    }

    /// <inheritdoc/>
    public override async Task<Rollout> StartRollout(StartRolloutRequest request, ServerCallContext context)
    {
        await RefuseAsync(context, await Scoped.RolloutStartAsync(CallerIdentity.OperatorOf(context), request.Revision, context.CancellationToken));
        // A revision stored earlier may name an agent release this controller (upgraded since) cannot take, or one not
        // published for a node that enrolled since: refused as apply refuses it, before any node moves.
        if (await store.Revisions.GetAsync(request.Revision, context.CancellationToken) is { } revision)
        {
            await CheckAgentVersionsAsync(desired.Resolved(revision), context.CancellationToken);
        }
        return await rolloutsApi.StartAsync(request, context);
    }

    /// <inheritdoc/>
    public override Task<Rollout> GetRollout(GetRolloutRequest request, ServerCallContext context) => rolloutsApi.GetAsync(request, context);

    /// <inheritdoc/>
    public override Task<ListRolloutsResponse> ListRollouts(ListRolloutsRequest request, ServerCallContext context) => rolloutsApi.ListAsync(request, context);

    /// <inheritdoc/>
    public override async Task<Rollout> ControlRollout(ControlRolloutRequest request, ServerCallContext context)
    {
        await RefuseAsync(context, await Scoped.RolloutControlAsync(CallerIdentity.OperatorOf(context), request.Id, context.CancellationToken));
        return await rolloutsApi.ControlAsync(request, context);
    }

    /// <inheritdoc/>
    public override Task<ListEventsResponse> ListEvents(ListEventsRequest request, ServerCallContext context) => _events.ListAsync(request, context);

    /// <inheritdoc/>
    public override Task WatchEvents(ListEventsRequest request, IServerStreamWriter<Event> responseStream, ServerCallContext context) =>
        _events.WatchAsync(request, responseStream, context);

    private readonly EventsApi _events = new(store);

    /// <summary>With a <paramref name="problem"/> (a change beyond the caller's scope): recorded as a refusal naming the caller, then the call refused.</summary>
    private Task RefuseAsync(ServerCallContext context, string? problem)
    {
        if (problem is null)
        {
            return Task.CompletedTask;
        }
        refusals?.Refused(context, StatusCode.PermissionDenied, problem, actor: CallerIdentity.Of(context).Name);
        throw ApiError.Of(StatusCode.PermissionDenied, problem);
    }

    private ScopedChanges Scoped => scoped ?? throw ApiError.Of(StatusCode.Unimplemented, "this controller checks no operator scopes");

    private OperatorsApi Operators => operators ?? throw ApiError.Of(StatusCode.Unimplemented, "this controller manages no operators");

    /// <inheritdoc/>
    public override Task<WhoAmIResponse> WhoAmI(WhoAmIRequest request, ServerCallContext context) => Task.FromResult(OperatorsApi.WhoAmI(context));

    /// <inheritdoc/>
    public override Task<OperatorEnrollment> AddOperator(AddOperatorRequest request, ServerCallContext context) => Operators.AddAsync(request, context);

    /// <inheritdoc/>
    public override Task<ListOperatorsResponse> ListOperators(ListOperatorsRequest request, ServerCallContext context) => Operators.ListAsync(context);

    /// <inheritdoc/>
    public override Task<RevokeOperatorResponse> RevokeOperator(RevokeOperatorRequest request, ServerCallContext context) => Operators.RevokeAsync(request, context);

    /// <inheritdoc/>
    public override Task<OperatorEnrollment> ReissueOperator(ReissueOperatorRequest request, ServerCallContext context) => Operators.ReissueAsync(request, context);

    /// <inheritdoc/>
    public override Task<OperatorCertificate> RotateOwnCertificate(RotateOwnCertificateRequest request, ServerCallContext context) => Operators.RotateOwnAsync(request, context);

    /// <inheritdoc/>
    public override Task<ListReceiversResponse> ListReceivers(ListReceiversRequest request, ServerCallContext context) =>
        Notifications.ListAsync(context.CancellationToken);

    /// <inheritdoc/>
    public override Task<AgentRelease> PublishAgentRelease(IAsyncStreamReader<AgentReleaseUpload> requestStream, ServerCallContext context) =>
        (releases ?? throw ApiError.Of(StatusCode.Unimplemented, "agent releases are not served here")).PublishAsync(requestStream, context);

    /// <inheritdoc/>
    public override async Task<ListAgentReleasesResponse> ListAgentReleases(ListAgentReleasesRequest request, ServerCallContext context) =>
        releases is null ? new ListAgentReleasesResponse() : await releases.ListAsync(context.CancellationToken);

    /// <inheritdoc/>
    public override Task<TestReceiverResponse> TestReceiver(TestReceiverRequest request, ServerCallContext context) =>
        Notifications.TestAsync(request, CallerIdentity.Of(context).Name, context.CancellationToken);

    private NotificationsApi Notifications => notifications ?? new NotificationsApi(store, null, null);

    /// <summary>Nodes a listing's page holds when the caller names no size, and the most it ever holds.</summary>
    public const int DefaultPageSize = 500, MaxPageSize = 1000;

    private async Task<ListNodesResponse> ListNodesAsync(ListNodesRequest request, OperatorRecord caller, CancellationToken cancellationToken)
    {
        var size = request.PageSize == 0 ? DefaultPageSize : (int)Math.Min(request.PageSize, MaxPageSize);
        // The token is the last name of the previous page: pages follow name order, so a node added meanwhile is not skipped.
        var after = request.PageToken;
        var response = new ListNodesResponse();
        var enrolled = await store.Nodes.ListAsync(cancellationToken);
        foreach (var node in enrolled.Where(n => string.CompareOrdinal(n.Name, after) > 0).OrderBy(n => n.Name, StringComparer.Ordinal))
        {
            if (!LabelSelector.Matches(request.Selector, node.Labels) || !caller.Sees(node.Labels))
            {
                continue;
            }
            if (response.Nodes.Count == size)
            {
                response.NextPageToken = response.Nodes[^1].Name;
                break;
            }
            response.Nodes.Add(ToMessage(node, detail: false));
        }
        if (response.NextPageToken.Length == 0)
        {
            // The newest revision's named nodes the caller's selector and scope let through (none when it no longer validates).
            var missing = await UnenrolledNodes.OfNewestAsync(store, desired, enrolled,
                labels => LabelSelector.Matches(request.Selector, labels) && caller.Sees(labels), cancellationToken);
            response.Unenrolled.Add(missing.Select(ToMessage));
        }
        return response;
    }

    /// <summary>The nodes of <paramref name="named"/> with no enrolled node, as the API says them.</summary>
    private async Task<IEnumerable<UnenrolledNode>> UnenrolledAsync(IEnumerable<string> named, IReadOnlyList<NodeRecord> enrolled, CancellationToken cancellationToken) =>
        (await UnenrolledNodes.FindAsync(store, named, enrolled, cancellationToken)).Select(ToMessage);

    private static UnenrolledNode ToMessage(UnenrolledNodeRecord u) => new() { Name = u.Name, Removed = u.Removed, Nearest = u.Nearest ?? "" };

    private async Task<Node> GetNodeAsync(GetNodeRequest request, OperatorRecord caller, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            throw ApiError.Of(StatusCode.InvalidArgument, "name is required");
        }
        // A node outside the caller's scope is answered as one that does not exist: its name is all the caller learns by asking.
        var node = await store.Nodes.GetAsync(request.Name, cancellationToken) is { } found && caller.Sees(found.Labels) ? found
            : throw ApiError.Of(StatusCode.NotFound, $"no node named '{request.Name}'");
        return ToMessage(node, detail: true);
    }

    private async Task<ListRevisionsResponse> ListRevisionsAsync(ListRevisionsRequest request, CancellationToken cancellationToken)
    {
        var response = new ListRevisionsResponse();
        foreach (var revision in (await store.Revisions.ListAsync(request.Limit == 0 ? DefaultRevisionLimit : (int)Math.Min(request.Limit, 10_000), cancellationToken)))
        {
            response.Revisions.Add(ToMessage(revision));
        }
        return response;
    }

    private static Revision ToMessage(RevisionRecord revision) => new()
    {
        Number = revision.Number,
        Author = revision.Author,
        Message = revision.Message,
        CreatedAt = Timestamp.FromDateTimeOffset(revision.CreatedAt),
        SpecSha256 = revision.SpecSha256,
    };

    /// <summary>Validates the whole spec (nothing stored on error), stores a revision, and pushes every connected node whose state changed.</summary>
    private async Task<ApplySpecResponse> ApplySpecAsync(ApplySpecRequest request, ServerCallContext context)
    {
        var identity = CallerIdentity.Of(context);
        var fileName = string.IsNullOrEmpty(request.FileName) ? "spec.yaml" : request.FileName;
        var validating = ControllerTracing.Source.StartActivity("validate");
        var (resolved, errors) = DesiredStates.Resolve(request.SpecYaml, fileName);
        validating?.Dispose();
        if (resolved is null)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, string.Join("\n", errors));
        }
        if (request.Rollout is { } options)
        {
            try
            {
                Rollouts.RolloutPlan.Parse(RolloutWire.Settings(options));
            }
            catch (Rollouts.RolloutException ex)
            {
                throw ApiError.Of(StatusCode.InvalidArgument, "rollout: " + ex.Message);
            }
        }
        // While a rollout moves nodes, pushing to all at once would overtake it.
        if ((await store.Rollouts.ActiveAsync()) is { } active)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition,
                $"rollout {active.Id} is {Rollouts.RolloutWords.Of(active.State)}; abort it or let it finish before applying again");
        }
        await CheckAgentVersionsAsync(resolved, context.CancellationToken);
        var response = new ApplySpecResponse();
        var latest = await store.Revisions.LatestAsync();
        if (CallerIdentity.OperatorOf(context) is { IsScoped: true } scoped)
        {
            await RefuseAsync(context, OperatorScope.CheckApply(scoped, latest is null ? null : desired.Resolved(latest), resolved));
        }
        var sha = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(request.SpecYaml)));
        if (latest?.SpecSha256 == sha)
        {
            response.Revision = latest.Number;
            response.Unchanged = true;
            return response;
        }
        if (request.Rollout is { } planned)
        {
            if (rollouts is null)
            {
                throw ApiError.Of(StatusCode.FailedPrecondition, "this controller runs no rollout engine");
            }
            try
            {
                // Checked before anything is stored: a revision whose rollout cannot start is not kept.
                await rollouts.CheckStartableAsync(resolved, RolloutWire.Settings(planned), context.CancellationToken);
            }
            catch (Rollouts.RolloutException ex)
            {
                throw ApiError.Of(StatusCode.FailedPrecondition, $"rollout: {ex.Message}; nothing stored");
            }
        }
        if (request.Rollout is not null && request.StoreOnly)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, "store-only and a rollout exclude each other: store it, then `hawserctl rollout start REVISION`");
        }
        if (request.Rollout is not null || request.StoreOnly)
        {
            // Every node keeps what it runs before the new revision exists: a node that follows the newest revision
            // would otherwise take it at once (another controller sharing the store pushes it) instead of in its batch.
            await store.Nodes.SetPinsAsync((await store.Nodes.ListWithoutReportsAsync()).Where(n => n.PinnedRevision is null)
                .ToDictionary(n => n.Name, n => (ulong?)n.DesiredRevision, StringComparer.Ordinal));
        }
        var storing = ControllerTracing.Source.StartActivity("store");
        var revision = await store.Revisions.AddAsync(identity.Name, request.Message, request.SpecYaml);
        storing?.SetTag("hawser.revision", (long)revision.Number);
        response.Revision = revision.Number;
        desired.Remember(revision, resolved);
        applied?.Invoke();
        if (request.StoreOnly)
        {
            storing?.Dispose();
            await store.Nodes.UpdateAsync(new Dictionary<string, ulong>(), resolved.Labels);
            response.Unenrolled.Add(await UnenrolledAsync(resolved.Nodes.Keys, await store.Nodes.ListWithoutReportsAsync(), context.CancellationToken));
            return response;
        }
        if (request.Rollout is { } rollout)
        {
            storing?.Dispose();
            // Labels are the controller's own record (selectors, {address}); they follow the spec at once.
            await store.Nodes.UpdateAsync(new Dictionary<string, ulong>(), resolved.Labels);
            try
            {
                response.RolloutId = (await rollouts!.StartAsync(revision.Number, RolloutWire.Settings(rollout), identity.Name, context.CancellationToken)).Id;
            }
            catch (Rollouts.RolloutException ex)
            {
                throw ApiError.Of(StatusCode.FailedPrecondition, $"revision {revision.Number} stored, but its rollout did not start: {ex.Message}");
            }
            return response;
        }
        var states = new Dictionary<string, NodeDesiredState>(StringComparer.Ordinal);
        // Only what differs from the rows just read is written: an apply to thousands of nodes usually changes few labels.
        var labels = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        var moved = new Dictionary<string, ulong>(StringComparer.Ordinal);
        var enrolled = await store.Nodes.ListWithoutReportsAsync();
        response.Unenrolled.Add(await UnenrolledAsync(resolved.Nodes.Keys, enrolled, context.CancellationToken));
        foreach (var node in enrolled)
        {
            if (resolved.Labels.TryGetValue(node.Name, out var nodeLabels) && !SameLabels(node.Labels, nodeLabels))
            {
                labels[node.Name] = nodeLabels;
            }
            // A plain apply puts every node on the newest revision, ending what earlier rollouts pinned.
            if (await desired.ForAsync(node with { PinnedRevision = null }, revision, context.CancellationToken) is { } state)
            {
                states[node.Name] = state;
                if (state.Revision != node.DesiredRevision)
                {
                    moved[node.Name] = state.Revision;
                }
            }
        }
        // One transaction for the fleet's new desired revisions, labels and pins, then every push at once.
        // Nodes this revision changes (connected or not; a node is numbered by the revision that last changed it): what `hawserctl apply` waits for.
        response.ChangedNodes.Add(states.Where(s => s.Value.Revision == revision.Number).Select(s => s.Key).Order(StringComparer.Ordinal));
        try
        {
            await store.Nodes.UpdateAsync(moved, labels, followNewest: true);
        }
        catch (RolloutActiveException ex)
        {
            // A rollout started through another controller after the check above: it moves the nodes, not this apply.
            throw ApiError.Of(StatusCode.FailedPrecondition, $"revision {revision.Number} stored but not pushed: {ex.Message}");
        }
        finally
        {
            storing?.Dispose();
        }
        List<string> pushed;
        using (var pushing = ControllerTracing.Source.StartActivity("push"))
        {
            pushing?.SetTag("hawser.revision", (long)revision.Number);
            pushed = [.. sessions.Push(states)];
            pushing?.SetTag("hawser.pushed", pushed.Count);
        }
        // Sets, not the response's lists: a fleet of thousands would make each lookup a scan.
        var changed = response.ChangedNodes.ToHashSet(StringComparer.Ordinal);
        if (store.Engine.IsShared)
        {
            // The controllers holding other nodes' streams push them on the change's notification.
            var elsewhere = (await store.Nodes.ListWithoutReportsAsync()).Where(n => n.ConnectedTo is not null && !sessions.IsConnected(n.Name) && changed.Contains(n.Name)).Select(n => n.Name);
            pushed = [.. pushed.Concat(elsewhere).Order(StringComparer.Ordinal)];
        }
        response.PushedNodes.Add(pushed);
        var pushedSet = pushed.ToHashSet(StringComparer.Ordinal);
        await store.Events.AddAsync(new EventRecord
        {
            Kind = "spec.pushed", Actor = identity.Name, Revision = revision.Number,
            Summary = $"revision {revision.Number}: {response.ChangedNodes.Count} node(s) changed, pushed to {response.PushedNodes.Count} connected",
            Details = [.. response.ChangedNodes.Select(n => pushedSet.Contains(n) ? $"{n}: pushed" : $"{n}: not connected; sent when it connects")],
        });
        ControllerLog.Applied(logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, revision.Number, identity.Name, request.Message, response.ChangedNodes.Count, response.PushedNodes.Count);
        return response;
    }

    /// <summary>
    /// Refuses a spec that names an agent release this controller could not take (outside its version skew) or has not
    /// published for a node's architecture: every problem, one line per node.
    /// </summary>
    private async Task CheckAgentVersionsAsync(ResolvedSpec spec, CancellationToken cancellationToken)
    {
        if (spec.AgentVersions.Count == 0)
        {
            return;
        }
        var releases = (await store.AgentReleases.ListAsync(cancellationToken)).Select(r => (r.Version, r.Architecture)).ToHashSet();
        var nodes = (await store.Nodes.ListWithoutReportsAsync(cancellationToken)).ToDictionary(n => n.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var (node, version) in spec.AgentVersions.OrderBy(v => v.Key, StringComparer.Ordinal))
        {
            if (ControllerVersion.ProblemWith(version) is not null)
            {
                problems.Add($"node '{node}': agent: release {version} is outside what this controller supports " +
                    $"({VersionSkew.Supported(ControllerVersion.Current)}): its agents would be refused");
            }
            // The architecture a node reported (.NET's name, lower case: x64, arm64) is the one releases are built for.
            else if (nodes.GetValueOrDefault(node)?.Facts?.Architecture is { Length: > 0 } arch && !releases.Contains((version, arch)))
            {
                problems.Add($"node '{node}': agent: release {version} is not published for {arch} (hawserctl agent publish DIR; hawserctl agent releases lists what is)");
            }
        }
        if (problems.Count > 0)
        {
            throw ApiError.Of(StatusCode.FailedPrecondition, string.Join("\n", problems));
        }
    }

    private static bool SameLabels(IReadOnlyDictionary<string, string> stored, IReadOnlyDictionary<string, string> spec) =>
        stored.Count == spec.Count && spec.All(l => stored.TryGetValue(l.Key, out var value) && value == l.Value);

    /// <summary>Asks every connected node in the candidate spec for a dry run; stores nothing.</summary>
    private async Task<DiffSpecResponse> DiffSpecAsync(DiffSpecRequest request, ServerCallContext context)
    {
        var (resolved, errors) = DesiredStates.Resolve(request.SpecYaml, string.IsNullOrEmpty(request.FileName) ? "spec.yaml" : request.FileName);
        if (resolved is null)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, string.Join("\n", errors));
        }
        // A scoped operator's diff asks only its own nodes for a dry run (the others are not shown to it).
        var sees = await OperatorScope.VisibleNodesAsync(store, context) ?? (_ => true);
        var diffs = await Task.WhenAll(resolved.Nodes.Where(n => sees(n.Key)).OrderBy(n => n.Key, StringComparer.Ordinal).Select(async pair =>
        {
            var report = await sessions.DryRunAsync(pair.Key, pair.Value, DryRunTimeout, context.CancellationToken);
            var diff = new NodeDiff { Node = pair.Key, Reachable = report is not null };
            if (report is not null)
            {
                diff.Resources.Add(report.Resources);
            }
            return diff;
        }));
        var response = new DiffSpecResponse();
        response.Nodes.Add(diffs);
        return response;
    }

    private async Task<CreateJoinTokenResponse> CreateJoinTokenAsync(CreateJoinTokenRequest request, string actor, CancellationToken cancellationToken)
    {
        if (request.Uses > MaxTokenUses)
        {
            throw ApiError.Of(StatusCode.InvalidArgument, $"uses {request.Uses}: a token may have at most {MaxTokenUses:N0} uses");
        }
        const string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
        var id = RandomNumberGenerator.GetString(alphabet, 6);
        var secret = RandomNumberGenerator.GetString(alphabet, 16);
        var expires = DateTimeOffset.UtcNow.AddSeconds(request.TtlSeconds == 0 ? 3600 : request.TtlSeconds);
        await store.Enrollment.AddTokenAsync(id, SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)), expires, request.Uses == 0 ? 1 : (int)request.Uses, request.Labels, actor, cancellationToken);
        return new CreateJoinTokenResponse { Token = $"{id}.{secret}", CaHash = pki.Ca.Hash, ExpiresAt = Timestamp.FromDateTimeOffset(expires) };
    }

    private async Task<RevokeJoinTokenResponse> RevokeJoinTokenAsync(RevokeJoinTokenRequest request, string actor, CancellationToken cancellationToken)
    {
        var id = request.Id.Split('.')[0];
        return await store.Enrollment.RevokeTokenAsync(id, actor, cancellationToken) ? new RevokeJoinTokenResponse() : throw ApiError.Of(StatusCode.NotFound, $"no join token with id '{id}'");
    }

    private async Task<RemoveNodeResponse> RemoveNodeAsync(RemoveNodeRequest request, string actor, CancellationToken cancellationToken)
    {
        if (await store.Nodes.GetAsync(request.Name, cancellationToken) is null && !await store.Enrollment.HasValidCertificateAsync(request.Name, cancellationToken))
        {
            throw ApiError.Of(StatusCode.NotFound, $"no node named '{request.Name}'");
        }
        var revoked = await store.Nodes.RemoveAsync(request.Name, actor, cancellationToken);
        sessions.Disconnect(request.Name);
        return new RemoveNodeResponse { RevokedCertificates = (uint)revoked };
    }

    /// <summary>A node for the API: with <paramref name="detail"/> its resources, facts and certificates too, else only their counts.</summary>
    private Node ToMessage(NodeRecord record, bool detail)
    {
        var node = new Node
        {
            Name = record.Name,
            AgentVersion = record.AgentVersion,
            Connected = sessions.IsConnected(record),
            FirstSeen = Timestamp.FromDateTimeOffset(record.FirstSeen),
            LastSeen = Timestamp.FromDateTimeOffset(record.LastSeen),
            DesiredRevision = record.DesiredRevision,
            AppliedRevision = record.AppliedRevision,
            DriftCorrected = (uint)record.DriftCorrected,
            PinnedRevision = record.PinnedRevision ?? 0,
            // Only with several controllers: which one an operator's call about this node's stream reaches.
            Controller = sessions.HolderOf(record),
            VersionProblem = ControllerVersion.ProblemWith(record.AgentVersion) ?? "",
        };
        if (record.LastReportAt is { } reportAt)
        {
            node.LastReportAt = Timestamp.FromDateTimeOffset(reportAt);
        }
        foreach (var (key, value) in record.Labels)
        {
            node.Labels[key] = value;
        }
        if (detail && record.Facts is { } facts)
        {
            // Kept bounded (those stored before the bounds were bounded by the migration to schema 10).
            node.Facts = FactsWire.Message(facts);
        }
        // Reports are kept bounded (those stored before the bounds were bounded by the migration to schema 9).
        if (record.LastReport is { } report)
        {
            var resources = report.Resources.Select(ReportWire.Message).ToList();
            node.Counts = StateWords.Count(resources);
            node.LastReportRevision = report.Revision;
            if (detail)
            {
                node.Resources.Add(resources);
                node.InstalledCertificates.Add(new Dictionary<string, string>(report.InstalledCertificates));
            }
        }
        if (record.OutcomeReport is { } outcome)
        {
            var resources = outcome.Resources.Select(ReportWire.Message).ToList();
            node.OutcomeRevision = outcome.Revision;
            node.OutcomeCounts = StateWords.Count(resources);
            if (detail)
            {
                node.OutcomeResources.Add(resources);
            }
        }
        return node;
    }
}
