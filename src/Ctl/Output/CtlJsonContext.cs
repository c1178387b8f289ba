using System.Text.Json.Serialization;

namespace Hawser.Ctl.Output;

/// <summary><c>hawserctl nodes -o json</c>: the documented, stable shape.</summary>
internal sealed record NodesOutput(IReadOnlyList<NodeOutput> Nodes);

/// <summary>One node in <see cref="NodesOutput"/>.</summary>
internal sealed record NodeOutput(
    string Name,
    bool Connected,
    IReadOnlyDictionary<string, string> Labels,
    string AgentVersion,
    ulong DesiredRevision,
    ulong AppliedRevision,
    DateTimeOffset? LastSeen,
    ResourceCounts Resources,
    ulong? PinnedRevision = null);

/// <summary>Per-state counts of a node's resources from its last report.</summary>
internal sealed record ResourceCounts(int InSync, int Changed, int Failed, int Other);

/// <summary><c>hawserctl status -o json</c>.</summary>
internal sealed record StatusOutput(IReadOnlyList<NodeStatusOutput> Nodes, IReadOnlyList<UnenrolledOutput> Unenrolled);

/// <summary>A node the spec names with no enrolled node: its state (not enrolled, removed) and the enrolled name it may be a typo of.</summary>
internal sealed record UnenrolledOutput(string Name, string State, string? DidYouMean)
{
    /// <summary>The output of <paramref name="node"/>.</summary>
    public static UnenrolledOutput Of(Hawser.Shared.Protocol.V1.UnenrolledNode node) =>
        new(node.Name, node.Removed ? "removed" : "not enrolled", node.Nearest.Length > 0 ? node.Nearest : null);
}

/// <summary>One node's line in <see cref="StatusOutput"/>.</summary>
internal sealed record NodeStatusOutput(
    string Name,
    string State,
    bool Connected,
    DateTimeOffset? LastSeen,
    string AgentVersion,
    ulong DesiredRevision,
    ulong AppliedRevision,
    ResourceCounts Resources,
    uint DriftCorrected,
    IReadOnlyList<ResourceOutput>? Detail,
    ulong? PinnedRevision = null,
    HostOutput? Host = null,
    string? Controller = null,
    string? VersionProblem = null);

/// <summary>What a node's agent said about its host in its last hello (<c>status NODE</c> only).</summary>
internal sealed record HostOutput(string Hostname, string Distro, string Kernel, string Architecture, string InitSystem, string DockerVersion,
    IReadOnlyList<InterfaceOutput> Interfaces);

/// <summary>One network interface in <see cref="HostOutput"/>.</summary>
internal sealed record InterfaceOutput(string Name, bool Up, IReadOnlyList<string> Addresses);

/// <summary>One resource from a node's last report, or from a dry run.</summary>
internal sealed record ResourceOutput(string Kind, string Name, string State, string Diff, string Error, IReadOnlyList<string> Warnings);

/// <summary><c>hawserctl apply -o json</c>.</summary>
internal sealed record ApplyOutput(ulong Revision, bool Unchanged, IReadOnlyList<string> PushedNodes, ulong? RolloutId = null,
    IReadOnlyList<string>? ChangedNodes = null, IReadOnlyList<ApplyOutcomeOutput>? Outcomes = null, IReadOnlyList<UnenrolledOutput>? Unenrolled = null);

/// <summary>The event log, oldest first.</summary>
internal sealed record EventsOutput(IReadOnlyList<EventOutput> Events);

/// <summary>One event of the controller's log.</summary>
internal sealed record EventOutput(ulong Id, DateTimeOffset At, string Kind, string Actor, string? Node, ulong? Revision, string Summary, IReadOnlyList<string> Details)
{
    public static EventOutput Of(Hawser.Shared.Protocol.V1.Event e) => new(e.Id, e.At.ToDateTimeOffset(), e.Kind, e.Actor,
        e.Node.Length > 0 ? e.Node : null, e.Revision == 0 ? null : e.Revision, e.Summary, [.. e.Details]);
}

/// <summary>One node's outcome of a change (the recap's line): ok, changed, failed or unreachable.</summary>
internal sealed record ApplyOutcomeOutput(string Node, string Result, int Ok, int Changed, int Failed, IReadOnlyList<string> Changes, IReadOnlyList<string> Failures, string? Why)
{
    public static ApplyOutcomeOutput Of(NodeOutcome o) => new(o.Node, o.Result, o.Ok, o.Changed, o.Failed, o.Changes, o.Failures, o.Why);
}

/// <summary><c>hawserctl rollout status -o json</c>: one rollout and each node's state.</summary>
internal sealed record RolloutOutput(ulong Id, ulong Revision, string State, string Reason, uint Batch, uint Batches, bool Promoted,
    DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt, DateTimeOffset? NextBatchAt, IReadOnlyList<RolloutNodeOutput> Nodes);

/// <summary>One node of a <see cref="RolloutOutput"/>.</summary>
internal sealed record RolloutNodeOutput(string Node, uint Batch, string State, string Detail, ulong PreviousRevision, string? Failure);

/// <summary><c>hawserctl rollout list -o json</c>.</summary>
internal sealed record RolloutsOutput(IReadOnlyList<RolloutOutput> Rollouts);

/// <summary><c>hawserctl diff -o json</c>.</summary>
internal sealed record DiffOutput(IReadOnlyList<NodeDiffOutput> Nodes);

/// <summary>One node's dry run.</summary>
internal sealed record NodeDiffOutput(string Node, bool Reachable, IReadOnlyList<ResourceOutput> Resources);

/// <summary><c>hawserctl revisions -o json</c>.</summary>
internal sealed record RevisionsOutput(IReadOnlyList<RevisionOutput> Revisions);

/// <summary>One stored revision.</summary>
internal sealed record RevisionOutput(ulong Number, string Author, string Message, DateTimeOffset CreatedAt, string SpecSha256);

/// <summary><c>hawserctl token create -o json</c>.</summary>
internal sealed record TokenOutput(string Token, string CaHash, DateTimeOffset ExpiresAt);

/// <summary>An operator's one-use enrollment token, as `operator add` and `operator rotate NAME` print it.</summary>
internal sealed record OperatorEnrollmentOutput(string Name, string Token, string CaHash, DateTimeOffset ExpiresAt, string Enroll);

/// <summary>One operator, as `operator list` prints it.</summary>
internal sealed record OperatorOutput(string Name, string Role, IReadOnlyDictionary<string, string> Selector, string State, int Certificates,
    DateTimeOffset? NotAfter, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt);

/// <summary>Who the caller is, as `whoami` prints it.</summary>
internal sealed record WhoAmIOutput(string Name, string Role, IReadOnlyDictionary<string, string> Selector, string Certificate);

/// <summary>Where `operator enroll` and `operator rotate` wrote the operator's credential.</summary>
internal sealed record OperatorCredentialOutput(string Name, string Role, string Config, string Certificate, string Key, DateTimeOffset NotAfter);

/// <summary><c>hawserctl certs -o json</c>.</summary>
internal sealed record CertificatesOutput(IReadOnlyList<CertificateOutput> Certificates);

/// <summary>
/// One certificate the controller obtains; <c>installed</c> maps each node to the serial its last report found on disk ("" for none),
/// <c>served</c> lists what each node's servers served when its agent checked, <c>nodeErrors</c> why a node's certificate failed,
/// <c>nextAttempt</c> when an order that failed is tried again, <c>issuer</c> the directory URL of the CA that issued the serial.
/// </summary>
internal sealed record CertificateOutput(string Name, IReadOnlyList<string> Domains, IReadOnlyList<string> Nodes, string? Serial,
    DateTimeOffset? NotAfter, DateTimeOffset? RenewAt, string? LastError, Dictionary<string, string> Installed, IReadOnlyList<ServedOutput> Served,
    Dictionary<string, string> NodeErrors, DateTimeOffset? NextAttempt, string? Issuer);

/// <summary>What one node's server served: the serial (null when none was read), its end of validity, and why none was read.</summary>
internal sealed record ServedOutput(string Node, string Target, string? Serial, DateTimeOffset? NotAfter, bool CoversName, string? Error);

/// <summary><c>hawserctl agent releases -o json</c> and <c>agent publish -o json</c>: releases, one per version and architecture.</summary>
internal sealed record AgentReleasesOutput(IReadOnlyList<AgentReleaseOutput> Releases);

/// <summary>One architecture's agent of a release; <c>Error</c> set (and the rest empty) when publishing it was refused.</summary>
internal sealed record AgentReleaseOutput(string Version, string Arch, ulong Size, string Sha256, string Key, DateTimeOffset? PublishedAt, string PublishedBy,
    bool AlreadyPublished = false, string? Error = null);

/// <summary><c>hawserctl notifications -o json</c>: whether notifications are on, and each receiver.</summary>
internal sealed record ReceiversOutput(bool Enabled, IReadOnlyList<ReceiverOutput> Receivers);

/// <summary>One receiver: where it is (scheme and host), its last delivery, counts kept a week, its newest failure and the routes to it.</summary>
internal sealed record ReceiverOutput(string Name, string Format, string Url, DateTimeOffset? LastDelivered, ulong Delivered, ulong Pending,
    ulong FailedAttempts, ulong Undeliverable, string? LastError, IReadOnlyList<string> Routes);

/// <summary><c>hawserctl notifications test NAME -o json</c>.</summary>
internal sealed record ReceiverTestOutput(string Receiver, bool Delivered, string Id, string? Error);

/// <summary>An error, as printed with -o json.</summary>
internal sealed record ErrorOutput(string Error, string? Code);

/// <summary>Source-generated JSON for every -o json shape (trim-safe).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, Converters = [typeof(UtcTimeJsonConverter)])]
[JsonSerializable(typeof(AgentReleasesOutput))]
[JsonSerializable(typeof(NodesOutput))]
[JsonSerializable(typeof(StatusOutput))]
[JsonSerializable(typeof(NodeStatusOutput))]
[JsonSerializable(typeof(ApplyOutput))]
[JsonSerializable(typeof(EventsOutput))]
[JsonSerializable(typeof(EventOutput))]
[JsonSerializable(typeof(RolloutOutput))]
[JsonSerializable(typeof(RolloutsOutput))]
[JsonSerializable(typeof(DiffOutput))]
[JsonSerializable(typeof(RevisionsOutput))]
[JsonSerializable(typeof(TokenOutput))]
[JsonSerializable(typeof(OperatorEnrollmentOutput))]
[JsonSerializable(typeof(IReadOnlyList<OperatorOutput>))]
[JsonSerializable(typeof(WhoAmIOutput))]
[JsonSerializable(typeof(OperatorCredentialOutput))]
[JsonSerializable(typeof(ErrorOutput))]
[JsonSerializable(typeof(ReceiversOutput))]
[JsonSerializable(typeof(ReceiverTestOutput))]
[JsonSerializable(typeof(CertificatesOutput))]
[JsonSerializable(typeof(CertificateOutput))]
[JsonSerializable(typeof(ServedOutput))]
internal sealed partial class CtlJsonContext : JsonSerializerContext;

/// <summary>Every time in hawserctl's JSON in one form: UTC with milliseconds and 'Z' (2026-12-06T21:30:08.123Z), whatever the command.</summary>
internal sealed class UtcTimeJsonConverter : System.Text.Json.Serialization.JsonConverter<DateTimeOffset>
{
    public override DateTimeOffset Read(ref System.Text.Json.Utf8JsonReader reader, Type typeToConvert, System.Text.Json.JsonSerializerOptions options) =>
        DateTimeOffset.Parse(reader.GetString()!, System.Globalization.CultureInfo.InvariantCulture);

    public override void Write(System.Text.Json.Utf8JsonWriter writer, DateTimeOffset value, System.Text.Json.JsonSerializerOptions options) =>
        writer.WriteStringValue(value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
}
