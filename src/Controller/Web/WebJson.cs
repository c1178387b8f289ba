using System.Text.Json.Serialization;

namespace Hawser.Controller.Web;

/// <summary>
/// A node in <c>GET /api/v1/nodes</c>; <c>controller</c> holds its stream when several controllers share a store (else empty);
/// <c>versionProblem</c> says why this controller refuses its agent's version (its state is then <c>incompatible</c>).
/// </summary>
public sealed record WebNode(string Name, bool Connected, string State, IReadOnlyDictionary<string, string> Labels, string AgentVersion,
    ulong DesiredRevision, ulong AppliedRevision, ulong? PinnedRevision, DateTimeOffset LastSeen, DateTimeOffset? LastReportAt,
    int InSync, int Changed, int Failed, int DriftCorrected, DateTimeOffset? CertificateExpiry, string Controller, string? VersionProblem);

/// <summary>One hour of <c>GET /api/v1/charts/outcomes</c>: converges that changed something, failures and drift corrections, over the nodes the caller sees.</summary>
public sealed record WebOutcomeHour(DateTimeOffset Hour, long Converged, long Failed, long DriftCorrected);

/// <summary><c>GET /api/v1/controller</c>: the controller that answered, whether it serves (every background job running, the store answering), and its store.</summary>
public sealed record WebControllerHealth(string Id, bool Serving, IReadOnlyList<string> Problems, string Store, bool Shared, string Version);

/// <summary>One resource of a node's last report.</summary>
public sealed record WebResource(string Kind, string Name, string State, string Diff, string Error);

/// <summary>Who the web UI's caller is.</summary>
public sealed record WebWhoAmI(string Name, string Role, string Scope);

/// <summary>One entry of a node's history (drift corrected, ...).</summary>
public sealed record WebEvent(DateTimeOffset At, string Kind, string Actor, string Summary, IReadOnlyList<string> Details)
{
    /// <summary>The node the event is about; empty for none.</summary>
    public string Node { get; init; } = "";
}

/// <summary><c>GET /api/v1/nodes/{name}</c>: the node, its resources and its drift history.</summary>
public sealed record WebNodeDetail(WebNode Node, IReadOnlyList<WebResource> Resources, IReadOnlyList<WebEvent> Events);

/// <summary>A stored revision.</summary>
public sealed record WebRevision(ulong Number, string Author, string Message, DateTimeOffset CreatedAt);

/// <summary>One row of a side-by-side diff: the left and right lines (null where one side has none) and whether they differ.</summary>
public sealed record WebDiffRow(string? Left, string? Right, bool Changed);

/// <summary>One line of a unified hunk: same, removed or added, with its line number on each side (0: not on that side).</summary>
public sealed record WebDiffLine(string Change, int Old, int New, string Text);

/// <summary>A unified hunk: its @@ header and lines.</summary>
public sealed record WebDiffHunk(string Header, IReadOnlyList<WebDiffLine> Lines);

/// <summary><c>GET /api/v1/revisions/diff?from=A&amp;to=B</c>: the unified hunks (what the page shows first) and the side-by-side rows.</summary>
public sealed record WebDiff(ulong From, ulong To, IReadOnlyList<WebDiffHunk> Hunks, IReadOnlyList<WebDiffRow> Rows);

/// <summary>A node of a rollout.</summary>
public sealed record WebRolloutNode(string Node, uint Batch, string State, string Detail, string Failure, ulong PreviousRevision);

/// <summary>A rollout with each node's state.</summary>
public sealed record WebRollout(ulong Id, ulong Revision, string State, string Reason, uint Batch, uint Batches, bool Promoted,
    DateTimeOffset? CreatedAt, DateTimeOffset? UpdatedAt, DateTimeOffset? NextBatchAt, IReadOnlyList<WebRolloutNode> Nodes);

/// <summary><c>POST /api/v1/rollouts</c>: what to roll and how (the options of <c>hawserctl rollout start</c>).</summary>
public sealed record WebRolloutRequest
{
    /// <summary>The stored revision.</summary>
    public ulong Revision { get; init; }

    /// <summary>k=v,... labels a node must have; empty for all.</summary>
    public string? Selector { get; init; }

    /// <summary>A count or a percentage.</summary>
    public string? Batch { get; init; }

    /// <summary>A single node first.</summary>
    public bool Canary { get; init; }

    /// <summary>Wait between batches, written as every duration is (30s, 5m, 01:00:00); empty for none.</summary>
    public string? Pause { get; init; }

    /// <summary>A count or a percentage.</summary>
    public string? MaxFailures { get; init; }

    /// <summary>pause or rollback.</summary>
    public string? OnFailure { get; init; }

    /// <summary>An HTTP check URL template ({node}, {address}), or empty.</summary>
    public string? Check { get; init; }

    /// <summary>Status codes the check accepts (a regular expression); empty for (2|3)[0-9][0-9].</summary>
    public string? ExpectStatus { get; init; }

    /// <summary>How long the check must keep passing (a duration); empty for none.</summary>
    public string? Hold { get; init; }

    /// <summary>How long one check request may take (a duration); empty for the default (5s).</summary>
    public string? CheckTimeout { get; init; }

    /// <summary>How long a node has to become healthy (a duration); empty for the default (2m).</summary>
    public string? GateTimeout { get; init; }
}

/// <summary>A certificate the controller obtains; <c>nodeStates</c> says how far its serial got on each node (served, installed, failed, ...), <c>nodeErrors</c> why one failed, <c>issuer</c> which CA issued it.</summary>
public sealed record WebCertificate(string Name, IReadOnlyList<string> Domains, IReadOnlyList<string> Nodes, string? Serial,
    DateTimeOffset? NotAfter, DateTimeOffset? RenewAt, string? LastError, IReadOnlyDictionary<string, string> Installed,
    IReadOnlyDictionary<string, string> NodeStates, IReadOnlyDictionary<string, string> NodeErrors, string? Issuer);

/// <summary>An error answer: what went wrong, for the person who clicked.</summary>
public sealed record WebError(string Error);

/// <summary>The JSON shapes of <c>/api/v1</c> (source-generated: the controller ships trimmed).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(IReadOnlyList<WebNode>))]
[JsonSerializable(typeof(WebNodeDetail))]
[JsonSerializable(typeof(WebWhoAmI))]
[JsonSerializable(typeof(IReadOnlyList<WebEvent>))]
[JsonSerializable(typeof(IReadOnlyList<Hawser.Controller.Sessions.UnenrolledNodeRecord>))]
[JsonSerializable(typeof(WebControllerHealth))]
[JsonSerializable(typeof(IReadOnlyList<WebOutcomeHour>))]
[JsonSerializable(typeof(IReadOnlyList<WebRevision>))]
[JsonSerializable(typeof(WebDiff))]
[JsonSerializable(typeof(WebRollout))]
[JsonSerializable(typeof(IReadOnlyList<WebRollout>))]
[JsonSerializable(typeof(WebRolloutRequest))]
[JsonSerializable(typeof(IReadOnlyList<WebCertificate>))]
[JsonSerializable(typeof(WebCertificate))]
[JsonSerializable(typeof(WebError))]
[JsonSerializable(typeof(string))]
public sealed partial class WebJsonContext : JsonSerializerContext;
