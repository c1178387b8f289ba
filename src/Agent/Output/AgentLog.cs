using Microsoft.Extensions.Logging;

namespace Hawser.Agent.Output;

/// <summary>
/// The agent's log lines (fleet mode), source-generated, through Microsoft.Extensions.Logging so each carries a time
/// and a level (<see cref="Hawser.Shared.ServiceHosting.ServiceLogging"/>): what an operator filters on.
/// </summary>
internal static partial class AgentLog
{
    /// <summary>The logger category every agent line carries.</summary>
    public const string Category = "hawser-agent";

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "hawser-agent {Node} starting")]
    public static partial void Starting(ILogger logger, string node);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "removed {Path}, left by an earlier run that was stopped mid-write")]
    public static partial void StaleTemporaryRemoved(ILogger logger, string path);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "could not look for temp files left by an earlier run: {Error}")]
    public static partial void StaleTemporariesUnreadable(ILogger logger, string error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Error, Message = "this host has not enrolled ({Certificate} is missing); give --join-token and --ca-hash from `hawserctl token create`")]
    public static partial void NotEnrolled(ILogger logger, string certificate);

    [LoggerMessage(EventId = 5, Level = LogLevel.Warning, Message = "cannot reach the controller yet ({Reason}); retrying in {Seconds} s")]
    public static partial void ControllerUnreachable(ILogger logger, string reason, double seconds);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, Message = "{Error}")]
    public static partial void EnrollmentRefused(ILogger logger, string error);

    [LoggerMessage(EventId = 41, Level = LogLevel.Error, Message = "stopping: {Reason}")]
    public static partial void NodeRemoved(ILogger logger, string reason);

    [LoggerMessage(EventId = 43, Level = LogLevel.Information, Message = "trying agent {Version}: {Path} starts in trial mode (this agent's stream is paused until it connects and reports, or fails)")]
    public static partial void TrialStarting(ILogger logger, string version, string path);

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "trial: {Line}")]
    public static partial void TrialOutput(ILogger logger, string line);

    [LoggerMessage(EventId = 45, Level = LogLevel.Warning, Message = "switched agent {From} to {To}: {Path} is the new binary, {Path}.previous the old one; restarting as it")]
    public static partial void Switched(ILogger logger, string from, string to, string path);

    [LoggerMessage(EventId = 46, Level = LogLevel.Error, Message = "agent {To} rolled back to {From}: {Reason}")]
    public static partial void RolledBack(ILogger logger, string to, string from, string reason);

    [LoggerMessage(EventId = 47, Level = LogLevel.Information, Message = "the controller stream is paused while a new agent binary is tried")]
    public static partial void StreamPaused(ILogger logger);

    [LoggerMessage(EventId = 48, Level = LogLevel.Warning, Message = "the agent that started this trial (pid {Parent}) is gone: the trial stops")]
    public static partial void TrialOrphaned(ILogger logger, int parent);

    [LoggerMessage(EventId = 42, Level = LogLevel.Error, Message = "the controller refuses this agent's version: {Reason}; the agent keeps the host as last applied and tries again (upgrade the agent, or the controllers, as it says)")]
    public static partial void VersionRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "controller stream ended: {Code} {Reason}")]
    public static partial void StreamEnded(ILogger logger, Grpc.Core.StatusCode code, string reason);

    [LoggerMessage(EventId = 8, Level = LogLevel.Warning, Message = "controller stream failed: {Error}")]
    public static partial void StreamFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "reconnecting to {Controller} in {Seconds} s")]
    public static partial void Reconnecting(ILogger logger, Fleet.ControllerEndpoint controller, double seconds);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "enrolled as {Node}; certificate valid until {NotAfter}")]
    public static partial void Enrolled(ILogger logger, string node, string notAfter);

    [LoggerMessage(EventId = 11, Level = LogLevel.Information, Message = "certificate renewed; valid until {NotAfter}")]
    public static partial void CertificateRenewed(ILogger logger, string notAfter);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information, Message = "connected to {Controller}")]
    public static partial void Connected(ILogger logger, Fleet.ControllerEndpoint controller);

    [LoggerMessage(EventId = 13, Level = LogLevel.Information, Message = "desired state: revision {Revision}")]
    public static partial void DesiredState(ILogger logger, ulong revision);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, Message = "dry run of revision {Revision} failed: {Error}")]
    public static partial void DryRunFailed(ILogger logger, ulong revision, string error);

    [LoggerMessage(EventId = 15, Level = LogLevel.Information, Message = "SIGHUP: converging now")]
    public static partial void Hangup(ILogger logger);

    [LoggerMessage(EventId = 16, Level = LogLevel.Error, Message = "converge round failed: {Error}")]
    public static partial void ConvergeRoundFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 17, Level = LogLevel.Warning, Message = "certificate renewal failed, retrying later: {Error}")]
    public static partial void RenewalFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 18, Level = LogLevel.Warning, Message = "the stored desired state is unreadable: {Error}; asking the controller to send it again")]
    public static partial void DesiredStateUnreadable(ILogger logger, string error);

    [LoggerMessage(EventId = 19, Level = LogLevel.Information, Message = "converged revision {Revision}: {Changed} changed, {Failed} failed: {Details}")]
    public static partial void Converged(ILogger logger, ulong revision, int changed, int failed, string details);

    [LoggerMessage(EventId = 20, Level = LogLevel.Warning, Message = "converged revision {Revision}: {Changed} changed, {Failed} failed: {Details}")]
    public static partial void ConvergedWithFailures(ILogger logger, ulong revision, int changed, int failed, string details);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "message not sent, the stream is closing: {Error}")]
    public static partial void NotSent(ILogger logger, string error);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "ACME HTTP-01: answered {Token} ({How}) to {Remote}")]
    public static partial void ChallengeAnswered(ILogger logger, string token, string how, System.Net.IPAddress? remote);

    [LoggerMessage(EventId = 23, Level = LogLevel.Information, Message = "answering ACME HTTP-01 on {Listen}")]
    public static partial void AnsweringChallenges(ILogger logger, string listen);

    [LoggerMessage(EventId = 24, Level = LogLevel.Warning, Message = "{Error}; {Consequence}")]
    public static partial void ChallengePortUnavailable(ILogger logger, string error, string consequence);

    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "cannot write node_exporter's textfile {Path}: {Error} (said once until it works again)")]
    public static partial void TextfileFailed(ILogger logger, string path, string error);
}
