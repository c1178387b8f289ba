using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Hawser.Shared.Pki;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Transport;

namespace Hawser.TestSupport;

/// <summary>
/// An enrolled node under an attacker's control: a real node certificate from a real join, and a Grpc.Net stream on
/// which the test sends whatever it likes (a modified agent would do the same). It never reads its stream unless asked.
/// </summary>
public sealed class HostileNode : IAsyncDisposable
{
    private readonly GrpcChannel _channel;
    private readonly AsyncDuplexStreamingCall<AgentMessage, ControllerMessage> _call;

    private HostileNode(string name, GrpcChannel channel, AsyncDuplexStreamingCall<AgentMessage, ControllerMessage> call)
    {
        Name = name;
        _channel = channel;
        _call = call;
    }

    /// <summary>The node's name (its certificate's).</summary>
    public string Name { get; }

    /// <summary>The controller's side of the stream, for a test that reads what it is sent.</summary>
    public IAsyncStreamReader<ControllerMessage> Responses => _call.ResponseStream;

    /// <summary>Enrolls <paramref name="name"/> with a fresh join token and opens its stream with <paramref name="hello"/>.</summary>
    public static async Task<HostileNode> EnrollAsync(ControllerProcess controller, string name, Hello? hello = null)
    {
        var created = await HawserProcesses.RunAsync("hawserctl", ["--config", controller.CtlConfig, "token", "create", "-o", "json"]);
        if (created.ExitCode != 0)
        {
            throw new AssertFailedException(created.Output);
        }
        var token = System.Text.Json.JsonDocument.Parse(created.StandardOutput).RootElement.GetProperty("token").GetString()!;
        using var ca = X509CertificateLoader.LoadCertificateFromFile(Path.Join(controller.DataDirectory, "pki", "ca.crt"));
        X509Certificate2 identity;
        using (var anonymous = ControllerChannel.Create(controller.Address, new ControllerChannelOptions { TrustedCa = ca }))
        {
            identity = await NodeEnrollment.JoinAsync(anonymous, token, name);
        }
        // Larger messages than the real agent ever sends: the controller's own limit must be what stops them.
        var channel = ControllerChannel.Create(controller.Address, new ControllerChannelOptions
        {
            TrustedCa = X509CertificateLoader.LoadCertificateFromFile(Path.Join(controller.DataDirectory, "pki", "ca.crt")),
            ClientCertificate = identity, MaxSendMessageSize = 16 * 1024 * 1024,
        });
        var call = new AgentService.AgentServiceClient(channel).Connect();
        hello ??= new Hello { AgentVersion = BuildVersion.Current };
        hello.NodeName = name;
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello });
        return new HostileNode(name, channel, call);
    }

    /// <summary>Sends one report.</summary>
    public Task SendAsync(StatusReport report) => _call.RequestStream.WriteAsync(new AgentMessage { Status = report });

    /// <summary>Sends a report with one resource in <paramref name="state"/> whose every text field is <paramref name="text"/>.</summary>
    public Task SendResourceAsync(string text, ResourceState state = ResourceState.Failed, ulong revision = 1)
    {
        var report = new StatusReport { Revision = revision, FinishedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTime(DateTime.UtcNow) };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.core." + text, State = state, Error = text, Diff = text, Warnings = { text } });
        return SendAsync(report);
    }

    /// <summary>
    /// One message of a flood: a report whose one resource fails with an error not seen before (each would be news for
    /// the event log), every other one also asking for the desired state again.
    /// </summary>
    public Task SendNewFailureAsync(long n, CancellationToken cancellationToken)
    {
        var report = new StatusReport { Revision = 1, NeedsDesiredState = n % 2 == 0 };
        report.Resources.Add(new ResourceStatus { Kind = "sysctl", Name = "net.core.x", State = ResourceState.Failed, Error = $"failure {n} " + new string('f', 100) });
        return SendAsync(report).WaitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync();
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException)
        {
            // The controller may have ended the stream already.
        }
        _call.Dispose();
        _channel.Dispose();
    }
}
