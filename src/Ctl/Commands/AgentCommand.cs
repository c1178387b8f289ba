using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Hawser.Ctl.Output;
using Hawser.Shared.Cli;
using Hawser.Shared.Protocol.V1;
using Hawser.Shared.Releases;
using Spectre.Console;

namespace Hawser.Ctl.Commands;

/// <summary><c>hawserctl agent publish DIR</c> and <c>agent releases</c>: the agent releases the controller can hand to its agents.</summary>
internal sealed class AgentCommand : Command
{
    /// <summary>How long one architecture's upload may take.</summary>
    private static readonly TimeSpan UploadTimeout = TimeSpan.FromMinutes(10);

    public AgentCommand() : base("agent", "Agent releases: publish a signed release build to the controller, list what it holds.")
    {
        Subcommands.Add(Publish());
        Subcommands.Add(Releases());
    }

    private static Command Publish()
    {
        var directory = new Argument<DirectoryInfo>("DIR")
        {
            Description = "A packaging/build-release.sh output made with --sign-key: each linux-ARCH/ holds hawser-agent, hawser-agent.release " +
                "(version, arch, size, SHA-256) and hawser-agent.release.sig (its Ed25519 signature).",
        };
        var publish = new Command("publish", "Store each architecture's agent of a signed release build on the controller. The controller refuses one " +
            "whose signature does not verify with its release key, or whose bytes or architecture are not what the signed manifest says. " +
            "Exit 0 when every architecture was stored (or already was), 1 when one was refused.") { directory };
        CommandExamples.Set(publish, "packaging/build-release.sh 1.4.0 --only hawser-agent --sign-key release.key && hawserctl agent publish artifacts/release/1.4.0");
        publish.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            var dir = parse.GetValue(directory)!;
            var found = ReleaseManifest.Architectures.Select(a => (Arch: a, Path: Path.Combine(dir.FullName, $"linux-{a}", "hawser-agent")))
                .Where(a => File.Exists(a.Path + ".release")).ToList();
            if (found.Count == 0)
            {
                output.WriteError($"{dir.FullName} holds no signed agent (linux-x64/hawser-agent.release or linux-arm64/...): " +
                    "build it with packaging/build-release.sh VERSION --sign-key KEY", "NoRelease");
                return ExitCodes.Failed;
            }
            var results = new List<AgentReleaseOutput>();
            var code = await ControllerClient.RunAsync(parse, output, async (client, options, _) =>
            {
                foreach (var (arch, binary) in found)
                {
                    results.Add(await UploadAsync(client, options, output, arch, binary, cancellationToken));
                }
                return results.Any(r => r.Error is not null) ? ExitCodes.Failed : ExitCodes.Ok;
            }, cancellationToken, UploadTimeout);
            if (output.Format == OutputFormat.Json && results.Count > 0)
            {
                output.WriteJson(new AgentReleasesOutput(results), CtlJsonContext.Default.AgentReleasesOutput);
            }
            return code;
        });
        return publish;
    }

    private static async Task<AgentReleaseOutput> UploadAsync(ControlService.ControlServiceClient client, CallOptions options, ConsoleOutput output,
        string arch, string binary, CancellationToken cancellationToken)
    {
        byte[] manifest, signature;
        try
        {
            manifest = await File.ReadAllBytesAsync(binary + ".release", cancellationToken);
            signature = await File.ReadAllBytesAsync(binary + ".release.sig", cancellationToken);
        }
        catch (IOException ex)
        {
            return Refused(output, arch, $"cannot read the signed manifest: {ex.Message}");
        }
        if (!File.Exists(binary))
        {
            return Refused(output, arch, $"{binary} is missing");
        }
        var size = new FileInfo(binary).Length;
        if (output.Format != OutputFormat.Json)
        {
            output.WriteLine($"linux-{arch}: sending {binary} ({size / 1024.0 / 1024.0:0.0} MiB)...");
        }
        using var call = client.PublishAgentRelease(options);
        try
        {
            await call.RequestStream.WriteAsync(new AgentReleaseUpload { Header = new AgentReleaseHeader { Manifest = ByteString.CopyFrom(manifest), Signature = ByteString.CopyFrom(signature) } }, cancellationToken);
            await using (var file = File.OpenRead(binary))
            {
                var buffer = new byte[256 * 1024];
                int read;
                while ((read = await file.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    await call.RequestStream.WriteAsync(new AgentReleaseUpload { Chunk = ByteString.CopyFrom(buffer, 0, read) }, cancellationToken);
                }
            }
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The controller refused mid-upload (a bad signature is refused at the header): its answer below says why.
        }
        try
        {
            var release = await call.ResponseAsync;
            if (output.Format != OutputFormat.Json)
            {
                output.WriteLine(release.AlreadyPublished
                    ? $"linux-{arch}: release {release.Version} was already published with these bytes; nothing changed"
                    : $"linux-{arch}: published release {release.Version} ({release.Size} bytes, SHA-256 {release.Sha256}, key {release.Key})");
            }
            return ToOutput(release);
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.AlreadyExists)
        {
            return Refused(output, arch, ex.Status.Detail);
        }
    }

    private static AgentReleaseOutput Refused(ConsoleOutput output, string arch, string why)
    {
        output.WriteError($"linux-{arch}: refused: {why}", "Refused");
        return new AgentReleaseOutput("", arch, 0, "", "", null, "", Error: why);
    }

    private static Command Releases()
    {
        var releases = new Command("releases", "The agent releases the controller holds, newest first: version, architecture, size, SHA-256, the key that signed it, who published it when.");
        CommandExamples.Set(releases, "hawserctl agent releases", "hawserctl agent releases -o json");
        releases.SetAction(async (parse, cancellationToken) =>
        {
            var output = new ConsoleOutput(parse.GetValue(CtlOptions.Output));
            return await ControllerClient.RunAsync(parse, output, async (client, options) =>
            {
                var list = await client.ListAgentReleasesAsync(new ListAgentReleasesRequest(), options);
                if (output.Format == OutputFormat.Json)
                {
                    output.WriteJson(new AgentReleasesOutput([.. list.Releases.Select(ToOutput)]), CtlJsonContext.Default.AgentReleasesOutput);
                    return ExitCodes.Ok;
                }
                if (list.Releases.Count == 0)
                {
                    output.WriteLine("No agent releases yet. `hawserctl agent publish DIR` stores a signed build (packaging/build-release.sh --sign-key).");
                    return ExitCodes.Ok;
                }
                var table = new Table().Border(TableBorder.Simple).AddColumns("VERSION", "ARCH", "SIZE", "SHA-256", "KEY", "PUBLISHED", "BY");
                foreach (var r in list.Releases)
                {
                    table.AddRow(ConsoleOutput.Cell(r.Version), r.Arch, $"{r.Size / 1024.0 / 1024.0:0.0} MiB", r.Sha256[..16] + "…", r.Key,
                        $"{r.PublishedAt.ToDateTimeOffset().UtcDateTime:yyyy-MM-dd HH:mm}Z", ConsoleOutput.Cell(r.PublishedBy));
                }
                output.WriteTable(table);
                return ExitCodes.Ok;
            }, cancellationToken);
        });
        return releases;
    }

    private static AgentReleaseOutput ToOutput(AgentRelease r) =>
        new(r.Version, r.Arch, r.Size, r.Sha256, r.Key, r.PublishedAt?.ToDateTimeOffset(), r.PublishedBy, r.AlreadyPublished);
}
