using System.Security.Cryptography.X509Certificates;
using Hawser.Agent.Fleet;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;

namespace Hawser.Agent.Install;

/// <summary>
/// After install starts the service: waits until the agent has enrolled and received its desired
/// state, and tells the operator where it stands, or why it did not come up (with its log).
/// </summary>
public sealed class EnrollmentWatch(HostPaths paths, ServiceInstaller installer, string initSystem, TextWriter output)
{
    /// <summary>Where the OpenRC script sends the agent's output.</summary>
    public const string OpenRcLog = "/var/log/hawser/agent.log";

    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(250);

    /// <summary>True once enrolled; false (after printing the log) when the service stopped or <paramref name="wait"/> ran out.</summary>
    public async Task<bool> WaitAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + wait;
        var identity = new AgentIdentity(paths);
        if (!await installer.WaitUntilAsync("hawser-agent", initSystem, OpenRcLog, wait, () => Task.FromResult(identity.Exists),
            ("for the agent to enroll", "the hawser-agent service stopped before it enrolled", $"the agent has not enrolled after {wait.TotalSeconds:0} s"), cancellationToken))
        {
            return false;
        }
        using (var certificate = X509CertificateLoader.LoadCertificateFromFile(paths.Map("/var/lib/hawser/node.crt")))
        {
            output.WriteLine($"enrolled as {certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false)}; node certificate valid until {certificate.NotAfter.ToUniversalTime():u}");
        }
        // The first desired state follows the connection at once; a few seconds tell the operator more than "enrolled".
        var desired = new DesiredStateFile(paths);
        var settle = DateTime.UtcNow + TimeSpan.FromSeconds(Math.Min(10, Math.Max(0, (deadline - DateTime.UtcNow).TotalSeconds)));
        while (DateTime.UtcNow < settle && (desired.Load() is not { } state || desired.Applied != state.Revision))
        {
            await Task.Delay(Poll, cancellationToken);
        }
        output.WriteLine(desired.Load() switch
        {
            null => "connected; the controller has no desired state for this node yet (hawserctl apply)",
            { Revision: var revision } when desired.Applied == revision => $"in sync with revision {revision}",
            { Revision: var revision } => $"received revision {revision}; still converging (hawserctl status shows the outcome)",
        });
        return true;
    }
}
