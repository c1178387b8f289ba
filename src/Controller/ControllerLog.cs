using Microsoft.Extensions.Logging;

namespace Hawser.Controller;

/// <summary>The controller's log lines, source-generated.</summary>
internal static partial class ControllerLog
{
    [LoggerMessage(Level = LogLevel.Warning, Message = "refused {Method} from {Peer}: {Code} {Detail}")]
    public static partial void Refused(ILogger logger, string method, string peer, Grpc.Core.StatusCode code, string detail);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node} enrolled from {Peer}")]
    public static partial void Enrolled(ILogger logger, string node, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node} connected from {Peer}")]
    public static partial void Connected(ILogger logger, string node, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node} disconnected")]
    public static partial void Disconnected(ILogger logger, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "certificate {Name} issued: serial {Serial}, valid until {NotAfter}")]
    public static partial void CertificateIssued(ILogger logger, string name, string serial, DateTimeOffset notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "certificate {Name}: {Error}; next attempt in {Minutes} min")]
    public static partial void CertificateFailed(ILogger logger, string name, string error, double minutes);

    [LoggerMessage(Level = LogLevel.Information, Message = "certificate {Name}: {Reason}; looked at again when one of them reports")]
    public static partial void CertificateAwaitingNodes(ILogger logger, string name, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Id}: revision {Revision} to {Nodes} node(s) in {Batches} batch(es)")]
    public static partial void RolloutStarted(ILogger logger, ulong id, ulong revision, int nodes, int batches);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Id}: resumed after restart ({State}, batch {Batch})")]
    public static partial void RolloutResumed(ILogger logger, ulong id, string state, uint batch);

    /// <summary>A rollout stopped or paused: information when it finished as asked (done, rolled back), a warning otherwise.</summary>
    public static void RolloutStopped(ILogger logger, ulong id, string state, string reason)
    {
        if (state is "done" or "rolled-back")
        {
            RolloutFinished(logger, id, state, reason);
        }
        else
        {
            RolloutHalted(logger, id, state, reason);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Id}: {State}: {Reason}")]
    private static partial void RolloutFinished(ILogger logger, ulong id, string state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "rollout {Id}: {State}: {Reason}")]
    private static partial void RolloutHalted(ILogger logger, ulong id, string state, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Id}: {Step}")]
    public static partial void RolloutStep(ILogger logger, ulong id, string step);

    [LoggerMessage(Level = LogLevel.Information, Message = "rollout {Id}: {Action} by {Actor}")]
    public static partial void RolloutControlled(ILogger logger, ulong id, string action, string actor);

    [LoggerMessage(Level = LogLevel.Information, Message = "revision {Revision} applied by {Actor} ({Message}): {Changed} node(s) changed, {Pushed} pushed")]
    public static partial void Applied(ILogger logger, ulong revision, string actor, string message, int changed, int pushed);

    [LoggerMessage(Level = LogLevel.Information, Message = "node {Node}: {Summary}")]
    public static partial void NodeReported(ILogger logger, string node, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node}: {Summary}")]
    public static partial void NodeFailed(ILogger logger, string node, string summary);

    [LoggerMessage(Level = LogLevel.Error, Message = "rollout step failed: {Error}; retrying")]
    public static partial void RolloutStepFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "certificate {Name}: cannot read the CA's renewal information ({Error}); renewing by lifetime instead")]
    public static partial void RenewalInfoFailed(ILogger logger, string name, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Job} failed ({Why}); starting it again in {Retry}")]
    public static partial void JobFailed(ILogger logger, string job, string why, TimeSpan retry);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Job} starting again")]
    public static partial void JobRestarted(ILogger logger, string job);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Job} did not stop within the shutdown grace period; exiting without it")]
    public static partial void JobDidNotStop(ILogger logger, string job);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Method} from {Peer} failed in the controller: {Error}")]
    public static partial void HandlerFailed(ILogger logger, string method, string peer, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node} connected from {Peer} while its stream from {PreviousPeer} was open; the older stream is closed (two agents using one node's identity keep replacing each other)")]
    public static partial void StreamReplaced(ILogger logger, string node, string peer, string previousPeer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node} cannot read its stored desired state ({Error}); sending it again")]
    public static partial void DesiredStateResent(ILogger logger, string node, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node}: {Summary}")]
    public static partial void NodeThrottled(ILogger logger, string node, string summary);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node} ({Peer}) stopped taking what is sent ({Messages} message(s), {KiB} KiB waiting); its stream is closed, other nodes are not held up")]
    public static partial void NodeStalled(ILogger logger, string node, string peer, int messages, long kiB);

    [LoggerMessage(Level = LogLevel.Error, Message = "node {Node}: resending its desired state failed: {Error}")]
    public static partial void ResendFailed(ILogger logger, string node, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "node {Node}: a report was not stored ({Error}); its stream is closed so it reports to another controller")]
    public static partial void ReportNotStored(ILogger logger, string node, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "event log: {Count} event(s) older than {Retention} pruned")]
    public static partial void EventsPruned(ILogger logger, int count, TimeSpan retention);

    [LoggerMessage(Level = LogLevel.Warning, Message = "store notifications stopped ({Error}); polling every {Seconds} s until they are back")]
    public static partial void StoreListenLost(ILogger logger, string error, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "store notifications: listening")]
    public static partial void StoreListening(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "store poll failed: {Error}")]
    public static partial void StorePollFailed(ILogger logger, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "refreshing after a change by another controller ({Topic}) failed: {Error}")]
    public static partial void SyncFailed(ILogger logger, string topic, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease {Lease} taken (term {Term})")]
    public static partial void LeaseTaken(ILogger logger, string lease, long term);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease {Lease} (term {Term}) lost: {Why}; its work stops here")]
    public static partial void LeaseLost(ILogger logger, string lease, long term, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "notification {Kind} ({Count} event(s)) delivered to {Receiver}")]
    public static partial void NotificationDelivered(ILogger logger, string kind, int count, string receiver);

    [LoggerMessage(Level = LogLevel.Warning, Message = "notification {Kind} to {Receiver} failed (attempt {Attempt}): {Error}; tried again at {Next:u}")]
    public static partial void NotificationFailed(ILogger logger, string kind, string receiver, int attempt, string error, DateTimeOffset next);

    [LoggerMessage(Level = LogLevel.Error, Message = "notification {Kind} to {Receiver} is undeliverable: {Error}")]
    public static partial void NotificationUndeliverable(ILogger logger, string kind, string receiver, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "could not serve an agent release chunk to {Peer}: {Error}")]
    public static partial void ReleaseNotServed(ILogger logger, string peer, string error);
}
