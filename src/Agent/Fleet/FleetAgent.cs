using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Hawser.Agent.Configuration;
using Hawser.Agent.Docker;
using Hawser.Agent.Output;
using Hawser.Agent.Reconcile;
using Hawser.Agent.Kinds.Certificates;
using Hawser.Shared.Spec.Kinds.Certificates;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Spec;
using Hawser.Shared.Transport;
using Microsoft.Extensions.Logging;

namespace Hawser.Agent.Fleet;

/// <summary>What <c>hawser-agent run</c> was told.</summary>
public sealed record FleetAgentOptions
{
    /// <summary>The controllers' https:// URLs (one, or several sharing a store); the agent uses one at a time.</summary>
    public required IReadOnlyList<Uri> Controllers { get; init; }

    /// <summary>This node's name.</summary>
    public required string Node { get; init; }

    /// <summary>Join token, for the first start.</summary>
    public string? JoinToken { get; init; }

    /// <summary>The controller CA's pin, for the first start.</summary>
    public string? CaHash { get; init; }

    /// <summary>How often the agent converges to its desired state without being asked (drift correction).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Writes out what the log holds (before this process is replaced by another binary); nothing by default.</summary>
    public Action FlushLogs { get; init; } = () => { };
}

/// <summary>
/// The agent in a fleet: enrolls once, then dials the controller (so hosts behind NAT work), keeps
/// the stream alive, and reconnects with exponential backoff and jitter. Whatever the connection
/// does, it converges to its last desired state on an interval and reports what it corrected.
/// </summary>
public sealed class FleetAgent(FleetAgentOptions options, AgentConfig config, HostPaths paths, ILogger log) : IDisposable, Upgrade.IStreamPause
{
    // Trial mode (a new binary started by the old one): the file to create once connected and reported, else null.
    private readonly string? _trialMarker = Environment.GetEnvironmentVariable(Upgrade.AgentSwitch.TrialVariable) is { Length: > 0 } marker ? marker : null;
    // Set while a trial binary holds the node's stream: the connection loop waits on it.
    private volatile TaskCompletionSource? _paused;
    private CancellationTokenSource? _connection;
    private volatile bool _heard;
    private Upgrade.AgentSwitch? _switch;
    // Kept across converges: it remembers a release whose bytes did not verify.
    private Upgrade.AgentUpgrader? _releases;
    private static readonly string Version = Upgrade.AgentBuild.Version;
    // Release chunks asked for over the stream, by request id (one at a time in practice: a download asks, waits, writes).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<ulong, TaskCompletionSource<ReleaseChunk>> _releaseAnswers = new();
    private long _releaseRequests;

    /// <summary>How long the controller may take to answer a chunk request before the download gives up (the next converge resumes it).</summary>
    private static readonly TimeSpan ReleaseChunkTimeout = TimeSpan.FromSeconds(60);
    private readonly AgentIdentity _identity = new(paths);
    private readonly DesiredStateFile _desired = new(paths);
    // Held for a whole converge or dry run: one at a time on this host.
    private readonly SemaphoreSlim _converging = new(1, 1);
    // Held only while the desired-state files are written or read, so a push is saved (and acked) at once
    // even while a converge runs, and a converge never reads a half-saved state.
    private readonly SemaphoreSlim _desiredFiles = new(1, 1);
    private readonly ProcessCommandRunner _runner = new();
    private DockerEngineClient? _docker;
    private IClientStreamWriter<AgentMessage>? _stream;
    private readonly SemaphoreSlim _writing = new(1, 1);
    // Released by SIGHUP (`systemctl reload`, `rc-service hawser-agent reload`), a new desired state or the
    // controller's ConvergeNow: converge now, not at the next tick. Requests made during a converge coalesce into one.
    private readonly SemaphoreSlim _wake = new(0, 1);
    private string _wakeReason = "";
    private SystemdNotifier? _systemd;
    private readonly ControllerList _controllers = new(options.Controllers, Random.Shared);
    private readonly NodeExporterTextfile? _textfile = config.TextfileCollector is { } directory
        ? new NodeExporterTextfile(directory, HostServices.WritableArea.For(config, paths), log) : null;
    private IReadOnlyList<InstalledLeaf> _installed = [];
    private (ulong Revision, string TraceParent)? _traceParent;

    /// <summary>The controller in use.</summary>
    private Uri Controller => _controllers.Current.Url;

    /// <summary>The address to dial for it, when its name has several.</summary>
    private System.Net.IPAddress? ConnectTo => _controllers.Current.Address;
    private ChallengeAnswerer? _challenges;

    /// <summary>Runs until <paramref name="cancellationToken"/> fires; returns an exit code.</summary>
    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        // Stopped by the service manager, or by the controller saying this node was removed (then with its own exit code).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _stop = stop;
        var code = await RunUntilStoppedAsync(stop.Token);
        return _removed ? Commands.ExitCodes.Removed : code;
    }

    private CancellationTokenSource? _stop;
    private volatile bool _removed;

    private async Task<int> RunUntilStoppedAsync(CancellationToken cancellationToken)
    {
        if (_trialMarker is not null && int.TryParse(Environment.GetEnvironmentVariable(Upgrade.AgentSwitch.TrialParentVariable), out var parent))
        {
            // A trial must not outlive the agent that started it (killed mid-switch): it would hold the node's identity.
            _background.Add(WatchParentAsync(parent, cancellationToken));
        }
        if (Upgrade.AgentSwitch.NativeBinary() is { } binary)
        {
            _switch = new Upgrade.AgentSwitch(binary, paths.Map("/var/lib/hawser/agent"), [.. Environment.GetCommandLineArgs().Skip(1)], this, log, options.FlushLogs);
            if (_trialMarker is null)
            {
                // After a switch: a crash loop puts the previous binary back (and this process becomes it).
                _switch.RecordStart();
            }
        }
        _identity.Recover();
        if (!_identity.Exists)
        {
            if (options.JoinToken is null || options.CaHash is null)
            {
                var certificate = paths.Map("/var/lib/hawser/node.crt");
                AgentLog.NotEnrolled(log, certificate);
                return Commands.ExitCodes.Usage;
            }
            var retry = new Backoff();
            while (true)
            {
                try
                {
                    await EnrollAsync(cancellationToken);
                    break;
                }
                catch (EnrollmentException ex) when (ex.InnerException is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted })
                {
                    // The network or the controller is not up yet, or it rate-limits this address (many hosts enrolling at
                    // once behind one address): try the next controller, and keep trying, like any other connection.
                    var wait = _controllers.Fail() ? retry.Next() : MoveOn();
                    var reason = RpcFailure.Describe((RpcException)ex.InnerException);
                    var seconds = Math.Round(wait.TotalSeconds, 1);
                    AgentLog.ControllerUnreachable(log, reason, seconds);
                    await Task.Delay(wait, cancellationToken);
                }
                catch (EnrollmentException ex)
                {
                    AgentLog.EnrollmentRefused(log, ex.Message);
                    return Commands.ExitCodes.Failed;
                }
            }
        }
        ChallengeAnswerer challenges;
        try
        {
            // A trial binary proves it connects and converges; the old one keeps answering challenges (it holds the port).
            challenges = await ChallengeAnswerer.StartAsync(_trialMarker is null ? config.AcmeChallenge : config.AcmeChallenge with { Listen = "none" }, paths, log, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 0;
        }
        await using var answering = challenges;
        challenges.UseThumbprint(_desired.AcmeThumbprint);
        _challenges = challenges;
        using var systemd = new SystemdNotifier();
        _systemd = systemd;
        // Ready once enrolled and answering: from here on the agent converges with or without the controller,
        // and a stop is always announced with STOPPING. The converge loop pings the watchdog itself.
        systemd.Ready($"node {options.Node}, controller {Controller}", pingFromTimer: false);
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            Wake("SIGHUP");
        });
        var periodic = PeriodicConvergeAsync(cancellationToken);
        var backoff = new Backoff();
        while (!cancellationToken.IsCancellationRequested)
        {
            if (_paused is { } paused)
            {
                AgentLog.StreamPaused(log);
                try
                {
                    await paused.Task.WaitAsync(cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            var connectedAt = DateTime.UtcNow;
            try
            {
                await ConnectOnceAsync(cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception) when (_paused is not null)
            {
                // Ended on purpose for a trial binary: wait for it at the top, then connect at once.
                continue;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.PermissionDenied && ex.Trailers.GetValue(Shared.Protocol.NodeRefusal.Trailer) == Shared.Protocol.NodeRefusal.Removed)
            {
                AgentLog.NodeRemoved(log, ex.Status.Detail);
                _removed = true;
                await _stop!.CancelAsync();
                break;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition && ex.Trailers.GetValue(Shared.Protocol.NodeRefusal.Trailer) == Shared.Protocol.NodeRefusal.Version)
            {
                // Another controller may take it (several controllers mid-upgrade): tried like any refusal, said louder.
                AgentLog.VersionRefused(log, ex.Status.Detail);
            }
            catch (RpcException ex)
            {
                var reason = RpcFailure.Describe(ex);
                AgentLog.StreamEnded(log, ex.StatusCode, reason);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Whatever a broken connection throws (I/O, TLS, a write on a cancelled call), the
                // agent's job is to reconnect, never to exit.
                var error = Describe(ex);
                AgentLog.StreamFailed(log, error);
            }
            if (DateTime.UtcNow - connectedAt > TimeSpan.FromMinutes(1))
            {
                backoff.Reset();
            }
            // The next controller at once (after a jitter, so the agents of a controller that died do not all
            // arrive in the same instant); a pause that grows only once every controller has failed in a row.
            var wait = _controllers.Fail() ? backoff.Next() : MoveOn();
            var retryIn = Math.Round(wait.TotalSeconds, 1);
            AgentLog.Reconnecting(log, _controllers.Current, retryIn);
            try
            {
                await Task.Delay(wait, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        systemd.Stopping();
        try
        {
            await periodic;
        }
        catch (OperationCanceledException)
        {
        }
        // Dry runs still going end with the same cancellation; shutdown waits for them (they log their own failures).
        try
        {
            await _background.WhenAllAsync();
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Ended by the shutdown itself.
        }
        return 0;
    }

    // Work started beside the read loop (dry runs), awaited at shutdown.
    private readonly Shared.Threading.TrackedTasks _background = new();

    /// <summary>The pause before moving to the next controller: up to a second, at random.</summary>
    private static TimeSpan MoveOn() => TimeSpan.FromMilliseconds(Random.Shared.Next(0, 1000));

    private async Task EnrollAsync(CancellationToken cancellationToken)
    {
        // First contact trusts nothing: fetch the CA, then check it against the operator's pin.
        X509Certificate2 ca;
        using (var insecure = ControllerChannel.Create(Controller, new ControllerChannelOptions { ConnectTo = ConnectTo, ServerCertificateOverride = _ => true }))
        {
            var response = await Call(() => new EnrollmentService.EnrollmentServiceClient(insecure).GetCaAsync(new GetCaRequest(), Deadline(cancellationToken)).ResponseAsync);
            ca = X509Certificate2.CreateFromPem(response.CaPem);
        }
        if (!CaHash.Matches(ca, options.CaHash!))
        {
            throw new EnrollmentException($"the controller at {Controller} presents CA {CaHash.Of(ca)}, not {options.CaHash}; refusing to enroll with it");
        }
        using var verified = ControllerChannel.Create(Controller, new ControllerChannelOptions { ConnectTo = ConnectTo, TrustedCa = ca });
        var csr = _identity.NewSigningRequest(options.Node);
        var joined = await Call(() => new EnrollmentService.EnrollmentServiceClient(verified).JoinAsync(
            new JoinRequest { Token = options.JoinToken!, NodeName = options.Node, CsrDer = Google.Protobuf.ByteString.CopyFrom(csr) }, Deadline(cancellationToken)).ResponseAsync);
        _identity.Save(joined.CertificatePem, joined.CaPem);
        var notAfter = joined.NotAfter.ToDateTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture);
        AgentLog.Enrolled(log, options.Node, notAfter);
    }

    /// <summary>Renews the node certificate past two thirds of its life; a channel is made only then.</summary>
    private async Task RenewIfDueAsync(CancellationToken cancellationToken)
    {
        using var current = _identity.LoadCertificate();
        if (!AgentIdentity.NeedsRenewal(current, DateTime.UtcNow))
        {
            return;
        }
        using var ca = _identity.LoadCa();
        using var channel = ControllerChannel.Create(Controller, new ControllerChannelOptions { ConnectTo = ConnectTo, TrustedCa = ca, ClientCertificate = current });
        var csr = _identity.NewSigningRequest(options.Node);
        var renewed = await new EnrollmentService.EnrollmentServiceClient(channel).RenewAsync(
            new RenewRequest { CsrDer = Google.Protobuf.ByteString.CopyFrom(csr) }, Deadline(cancellationToken));
        _identity.Save(renewed.CertificatePem, renewed.CaPem);
        var renewedUntil = renewed.NotAfter.ToDateTime().ToString("u", System.Globalization.CultureInfo.InvariantCulture);
        AgentLog.CertificateRenewed(log, renewedUntil);
    }

    private async Task ConnectOnceAsync(CancellationToken cancellationToken)
    {
        await RenewIfDueAsync(cancellationToken);
        using var ca = _identity.LoadCa();
        using var channel = ControllerChannel.Create(Controller, new ControllerChannelOptions
        {
            ConnectTo = ConnectTo,
            TrustedCa = ca,
            ClientCertificate = _identity.LoadCertificate(),
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        });
        using var connection = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _connection = connection;
        if (_paused is not null)
        {
            return;
        }
        cancellationToken = connection.Token;
        _heard = false;
        using var stream = new AgentService.AgentServiceClient(channel).Connect(new CallOptions(cancellationToken: cancellationToken));
        await stream.RequestStream.WriteAsync(new AgentMessage
        {
            Hello = new Hello { NodeName = options.Node, AgentVersion = Version, Facts = HostFactsReader.Read(paths), AppliedRevision = _desired.Applied, Trial = _trialMarker is not null },
        }, cancellationToken);
        _stream = stream.RequestStream;
        _controllers.Succeeded();
        AgentLog.Connected(log, _controllers.Current);
        _textfile?.Connected(true);
        try
        {
            await foreach (var message in stream.ResponseStream.ReadAllAsync(cancellationToken))
            {
                await HandleAsync(message, cancellationToken);
            }
        }
        finally
        {
            _stream = null;
            _textfile?.Connected(false);
            // A download waiting on this stream resumes at the next converge, not after its timeout.
            foreach (var id in _releaseAnswers.Keys)
            {
                if (_releaseAnswers.TryRemove(id, out var waiting))
                {
                    waiting.TrySetException(new Reconcile.ResourceException("the stream to the controller ended during the download (it resumes)"));
                }
            }
        }
    }

    /// <summary>
    /// Answers one message from the controller without waiting for a converge: the read loop must stay free
    /// for challenges and acks (an ACME validation cannot wait behind a daemon restart). A new desired state
    /// is saved and acked, then converged by the converge loop; a dry run runs beside the loop.
    /// </summary>
    private async Task HandleAsync(ControllerMessage message, CancellationToken cancellationToken)
    {
        // The controller answered: it took this agent's hello (what a trial must show).
        _heard = true;
        switch (message.BodyCase)
        {
            case ControllerMessage.BodyOneofCase.DesiredState:
                var desired = message.DesiredState;
                await _desiredFiles.WaitAsync(cancellationToken);
                try
                {
                    _desired.Save(desired.Revision, desired.NodeSpecYaml,
                        desired.Certificates.ToDictionary(c => c.Key, c => (c.Value.CertificateChainPem, c.Value.PrivateKeyPem)), desired.AcmeAccountThumbprint);
                }
                finally
                {
                    _desiredFiles.Release();
                }
                _challenges?.UseThumbprint(desired.AcmeAccountThumbprint is { Length: > 0 } thumbprint ? thumbprint : null);
                // Kept in memory only: a restart before the converge loses the trace, never the state.
                _traceParent = desired.TraceParent.Length > 0 ? (desired.Revision, desired.TraceParent) : null;
                await SendAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } });
                AgentLog.DesiredState(log, desired.Revision);
                Wake($"revision {message.DesiredState.Revision}");
                break;
            case ControllerMessage.BodyOneofCase.Request when message.Request.KindCase == AgentRequest.KindOneofCase.DryRun:
                _background.Add(Task.Run(() => DryRunAsync(message, cancellationToken), CancellationToken.None));
                break;
            case ControllerMessage.BodyOneofCase.ChallengePut:
                var error = _challenges is null ? "the agent is starting" : _challenges.Put(message.ChallengePut.Token, message.ChallengePut.KeyAuthorization);
                await SendAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = error is null, Error = error ?? "" } });
                break;
            case ControllerMessage.BodyOneofCase.ChallengeRemove:
                _challenges?.Remove(message.ChallengeRemove.Token);
                await SendAsync(new AgentMessage { Ack = new Ack { InReplyTo = message.MessageId, Ok = true } });
                break;
            case ControllerMessage.BodyOneofCase.Request when message.Request.KindCase == AgentRequest.KindOneofCase.ConvergeNow:
                Wake("the controller asked");
                break;
            case ControllerMessage.BodyOneofCase.ReleaseChunk when _releaseAnswers.TryRemove(message.ReleaseChunk.InReplyTo, out var answer):
                answer.TrySetResult(message.ReleaseChunk);
                break;
        }
    }

    private async Task DryRunAsync(ControllerMessage message, CancellationToken cancellationToken)
    {
        var candidate = message.Request.DryRun.Candidate;
        try
        {
            StatusReport dryRun;
            await _converging.WaitAsync(cancellationToken);
            try
            {
                dryRun = await ConvergeAsync(candidate.NodeSpecYaml, candidate.Revision, dryRun: true, cancellationToken);
            }
            finally
            {
                _converging.Release();
            }
            dryRun.InReplyTo = message.MessageId;
            await SendAsync(new AgentMessage { Status = dryRun });
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            var error = Describe(ex);
            AgentLog.DryRunFailed(log, candidate.Revision, error);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Asks the converge loop for a converge now; requests made while one runs become one more converge after it.</summary>
    private void Wake(string reason)
    {
        _wakeReason = reason;
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already asked.
        }
    }

    private async Task PeriodicConvergeAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (await WaitForNextRoundAsync(cancellationToken) && _wakeReason == "SIGHUP")
            {
                AgentLog.Hangup(log);
            }
            try
            {
                await ConvergeAndReportAsync(cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // The next tick tries again; drift correction must not stop because one round failed.
                var error = Describe(ex);
                AgentLog.ConvergeRoundFailed(log, error);
            }
            // A stream can outlive a certificate; renew on the way, not only when reconnecting.
            try
            {
                await RenewIfDueAsync(cancellationToken);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                var error = Describe(ex);
                AgentLog.RenewalFailed(log, error);
            }
        }
    }

    /// <summary>
    /// Waits for the interval or a wake-up (true), pinging systemd's watchdog on the way: the pings come
    /// from this loop, so a converge stuck for longer than WatchdogSec stops them and systemd restarts the agent.
    /// </summary>
    private async Task<bool> WaitForNextRoundAsync(CancellationToken cancellationToken)
    {
        var next = DateTime.UtcNow + options.Interval;
        while (true)
        {
            _systemd?.WatchdogPing();
            var left = next - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }
            var slice = _systemd?.WatchdogInterval is { } watchdog && watchdog < left ? watchdog : left;
            if (await _wake.WaitAsync(slice, cancellationToken))
            {
                return true;
            }
        }
    }

    private async Task ConvergeAndReportAsync(CancellationToken cancellationToken)
    {
        StatusReport report;
        ulong revision;
        // Load inside the lock: a converge queued behind another must converge what is stored when its turn comes,
        // not what was stored when it asked (that would put an older revision back for a moment).
        await _converging.WaitAsync(cancellationToken);
        try
        {
            (ulong, string)? loaded;
            string? mark;
            await _desiredFiles.WaitAsync(cancellationToken);
            try
            {
                loaded = _desired.Load();
                mark = _desired.NewMark;
            }
            catch (InvalidDataException ex)
            {
                // Corrupt local state must not look in sync: report it failed and ask for the state again.
                AgentLog.DesiredStateUnreadable(log, ex.Message);
                await SendAsync(new AgentMessage
                {
                    Status = new StatusReport
                    {
                        NeedsDesiredState = true,
                        FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow),
                        Resources = { new ResourceStatus { Kind = "desired-state", Name = options.Node, State = ResourceState.Failed, Error = $"{ex.Message}; asked the controller to send it again" } },
                    },
                });
                return;
            }
            finally
            {
                _desiredFiles.Release();
            }
            if (loaded is not var (stored, yaml))
            {
                return;
            }
            revision = stored;
            // The first converge of a pushed state the controller traces reports its spans under the push.
            var traced = mark is not null && _traceParent is { } trace && trace.Revision == revision ? trace.TraceParent : null;
            var spans = traced is null ? null : new List<ConvergeSpan>();
            report = await ConvergeAsync(yaml, revision, dryRun: false, cancellationToken, spans);
            if (traced is not null)
            {
                report.TraceParent = traced;
                report.Spans.Add(spans!);
                _traceParent = null;
            }
            // A state pushed while this converge ran (new certificate material under the same revision is read from disk
            // mid-run) makes what it changed the controller's change, not drift on the host.
            report.DesiredStateNew = mark is not null || _desired.IsNew;
            if (StateWords.IsApplied(report))
            {
                await _desiredFiles.WaitAsync(cancellationToken);
                try
                {
                    // A state pushed during this converge (a new mark) stays new until its own converge.
                    _desired.SaveApplied(revision, mark);
                }
                finally
                {
                    _desiredFiles.Release();
                }
            }
        }
        finally
        {
            _converging.Release();
        }
        _textfile?.Converged(report, _installed);
        var changed = report.Resources.Count(r => r.State == ResourceState.Changed);
        var failed = report.Resources.Count(r => StateWords.IsFailed(r.State));
        if (changed > 0 || failed > 0)
        {
            // Which ones, and why: the first thing an operator asks of a log line like this.
            var details = string.Join("; ", report.Resources.Where(r => r.State == ResourceState.Changed || StateWords.IsFailed(r.State))
                .Select(r => $"{r.Kind}:{r.Name} {(r.State == ResourceState.Changed ? r.Diff : r.Error).ReplaceLineEndings(" ")}".TrimEnd()));
            if (failed > 0)
            {
                AgentLog.ConvergedWithFailures(log, revision, changed, failed, details);
            }
            else
            {
                AgentLog.Converged(log, revision, changed, failed, details);
            }
        }
        if (await SendAsync(new AgentMessage { Status = report }) && _trialMarker is { } marker && _heard)
        {
            // Connected, taken, converged and reported: the trial binary works. The old one takes it from here.
            // Whole or absent (the old binary reads it as soon as it exists): written aside, then renamed.
            await File.WriteAllTextAsync(marker + ".tmp", Version, CancellationToken.None);
            File.Move(marker + ".tmp", marker, overwrite: true);
        }
    }

    private async Task WatchParentAsync(int parent, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        try
        {
            while (Shared.HostAccess.NativeExec.ParentProcessId == parent && await timer.WaitForNextTickAsync(cancellationToken))
            {
            }
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (!cancellationToken.IsCancellationRequested)
        {
            AgentLog.TrialOrphaned(log, parent);
            await _stop!.CancelAsync();
        }
    }

    /// <inheritdoc/>
    public IDisposable Pause()
    {
        var paused = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _paused = paused;
        try
        {
            _connection?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Between two connections: the loop sees the pause before it dials.
        }
        return new Resume(this, paused);
    }

    private sealed class Resume(FleetAgent agent, TaskCompletionSource paused) : IDisposable
    {
        public void Dispose()
        {
            agent._paused = null;
            paused.TrySetResult();
        }
    }

    /// <summary>One converge of a node spec text, as a report for the controller; the caller holds the converge lock.</summary>
    private async Task<StatusReport> ConvergeAsync(string yaml, ulong revision, bool dryRun, CancellationToken cancellationToken, List<ConvergeSpan>? spans = null)
    {
        var started = DateTimeOffset.UtcNow;
        var report = new StatusReport { Revision = revision, DryRun = dryRun };
        try
        {
            // The agent's own limits apply to what the controller sends, as to a local spec.
            var parsed = SpecParser.Parse(yaml, _desired.SpecPath, config.SpecRules);
            if (!parsed.IsValid || !parsed.Spec!.Nodes.ContainsKey(options.Node))
            {
                report.Resources.Add(new ResourceStatus
                {
                    Kind = "spec", Name = options.Node, State = ResourceState.Failed,
                    Error = parsed.IsValid ? $"the desired state does not name node {options.Node}" : string.Join("; ", parsed.Errors),
                });
                return report;
            }
            var blocks = SpecResolver.Resolve(parsed.Spec, options.Node).Blocks;
            var converger = new NodeConverger(config, paths, _runner, () => _docker ??= new DockerEngineClient(config.DockerSocket))
            {
                // The first converge runs after RunUntilStoppedAsync has set _switch; config is fixed for the agent's life.
                Releases = _releases ??= new Upgrade.AgentUpgrader(
                    new Upgrade.ReleaseDownloader(RequestReleaseChunkAsync, config.TrustedReleaseKey, paths.Map("/var/lib/hawser/agent")), _switch, _trialMarker is not null),
            };
            // Each resource done is progress: the watchdog hears it, so only a resource stuck past WatchdogSec trips it.
            Reconcile.ConvergeReport result;
            try
            {
                // Resources run one after another: each one's span starts where the one before ended.
                var previous = started;
                result = await converger.ConvergeAsync(blocks, Path.GetDirectoryName(_desired.SpecPath)!, dryRun, cancellationToken,
                    progress: resource =>
                    {
                        _systemd?.WatchdogPing();
                        if (spans is not null)
                        {
                            var now = DateTimeOffset.UtcNow;
                            spans.Add(Span(resource.Id, previous, now, resource.Error, State(resource.Outcome)));
                            previous = now;
                        }
                    });
            }
            catch (InvalidDataException ex)
            {
                // The agent's own state (its undo records) is unreadable: nothing is changed, and the operator must hear why
                // through the controller, not only in this host's log.
                report.Resources.Add(new ResourceStatus { Kind = "agent-state", Name = paths.StateFile, State = ResourceState.Failed, Error = ex.Message });
                return report;
            }
            report.Resources.Add(result.Resources.Select(ToStatus));
            report.ServedCertificates.Add(result.Served.Select(served => new Shared.Protocol.V1.ServedCertificate
            {
                Certificate = served.Certificate, Target = served.Target, Serial = served.Serial ?? "", CoversName = served.CoversName, Error = served.Error ?? "",
                NotBefore = served.NotBefore is { } from ? Timestamp.FromDateTimeOffset(from) : null,
                NotAfter = served.NotAfter is { } to ? Timestamp.FromDateTimeOffset(to) : null,
            }));
            var installed = new List<InstalledLeaf>();
            foreach (var certificate in blocks.Certificates ?? [])
            {
                if (CertificateFilesResource.InstalledLeaf(certificate, paths) is { } leaf)
                {
                    report.InstalledCertificates[certificate.Name] = leaf.Serial;
                    installed.Add(leaf);
                }
            }
            if (!dryRun)
            {
                _installed = installed;
            }
        }
        finally
        {
            report.FinishedAt = Timestamp.FromDateTime(DateTime.UtcNow);
            // The converge's own span first, so the controller can parent the resources' under it.
            spans?.Insert(0, Span("converge", started, report.FinishedAt.ToDateTimeOffset(), null, report.Resources.Any(r => StateWords.IsFailed(r.State)) ? ResourceState.Failed : ResourceState.InSync));
        }
        return report;
    }

    private static ResourceState State(ResourceOutcome outcome) => outcome switch
    {
        ResourceOutcome.InSync => ResourceState.InSync,
        ResourceOutcome.Changed => ResourceState.Changed,
        ResourceOutcome.WouldChange => ResourceState.WouldChange,
        ResourceOutcome.Failed => ResourceState.Failed,
        _ => ResourceState.Skipped,
    };

    private static ConvergeSpan Span(string name, DateTimeOffset start, DateTimeOffset end, string? error, ResourceState outcome) => new()
    {
        Name = name, Start = Timestamp.FromDateTimeOffset(start), End = Timestamp.FromDateTimeOffset(end), Error = error ?? "",
        Outcome = StateWords.Resource(outcome),
    };

    private static ResourceStatus ToStatus(ResourceReport report)
    {
        var colon = report.Id.IndexOf(':', StringComparison.Ordinal);
        var status = new ResourceStatus
        {
            Kind = colon < 0 ? report.Id : report.Id[..colon],
            Name = colon < 0 ? string.Empty : report.Id[(colon + 1)..],
            State = State(report.Outcome),
            Diff = string.Join("; ", report.Changes.Select(c => $"{c.Target}: {c.From ?? "(absent)"} -> {c.To ?? "(absent)"}")),
            Error = report.Error ?? string.Empty,
        };
        status.Warnings.Add(report.Warnings);
        return status;
    }

    /// <summary>Asks the controller for one chunk of an agent release over the stream, and waits for its answer.</summary>
    private async Task<ReleaseChunk> RequestReleaseChunkAsync(ReleaseRequest request, CancellationToken cancellationToken)
    {
        if (_stream is null)
        {
            throw new Reconcile.ResourceException("not connected to the controller: the release is fetched when the agent is (the download resumes)");
        }
        request.Id = (ulong)Interlocked.Increment(ref _releaseRequests);
        var answer = new TaskCompletionSource<ReleaseChunk>(TaskCreationOptions.RunContinuationsAsynchronously);
        _releaseAnswers[request.Id] = answer;
        try
        {
            if (!await SendAsync(new AgentMessage { ReleaseRequest = request }))
            {
                throw new Reconcile.ResourceException("the stream to the controller ended during the download (it resumes)");
            }
            return await answer.Task.WaitAsync(ReleaseChunkTimeout, cancellationToken);
        }
        catch (TimeoutException)
        {
            throw new Reconcile.ResourceException($"the controller did not answer for release {request.Version} at byte {request.Offset} within {ReleaseChunkTimeout.TotalSeconds:0} s (the download resumes)");
        }
        finally
        {
            _releaseAnswers.TryRemove(request.Id, out _);
        }
    }

    private async Task<bool> SendAsync(AgentMessage message)
    {
        if (_stream is not { } stream)
        {
            return false;
        }
        await _writing.WaitAsync();
        try
        {
            await stream.WriteAsync(message);
            return true;
        }
        catch (Exception ex) when (ex is RpcException or IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException
            or InvalidOperationException)
        {
            // The stream is gone; the read loop notices and reconnects, and the next converge reports again.
            var error = ex.GetType().Name;
            AgentLog.NotSent(log, error);
            return false;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>An exception as a log line gives it: its type and message.</summary>
    private static string Describe(Exception ex) => $"{ex.GetType().Name}: {ex.Message}";

    /// <inheritdoc/>
    public void Dispose()
    {
        _converging.Dispose();
        _desiredFiles.Dispose();
        _writing.Dispose();
        _wake.Dispose();
        _docker?.Dispose();
    }

    private static CallOptions Deadline(CancellationToken cancellationToken) => new(deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (RpcException ex)
        {
            throw new EnrollmentException($"the controller refused enrollment: {ex.Status.Detail} ({ex.StatusCode})", ex);
        }
    }
}

/// <summary>Enrollment failed for a reason the operator must fix (token, CA hash, name).</summary>
public sealed class EnrollmentException(string message, Exception? inner = null) : Exception(message, inner);
