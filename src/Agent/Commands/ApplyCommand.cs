using Hawser.Shared.Cli;
using Hawser.Shared.IO;
using System.CommandLine;
using Hawser.Agent.Configuration;
using Hawser.Agent.Docker;
using Hawser.Agent.Output;
using Hawser.Agent.Reconcile;
using Hawser.Agent.State;
using Hawser.Shared.HostAccess;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Commands;

/// <summary><c>hawser-agent apply</c>: converge this host to one node of a spec, without a controller.</summary>
internal sealed class ApplyCommand : Command
{
    private readonly Option<FileInfo> _file = new("--file", "-f") { HelpName = "SPEC.yaml", Description = "The spec (YAML, apiVersion: hawser/v1).", Required = true };
    private readonly Option<string> _node = new("--node") { HelpName = "NAME", Description = "Which node of the spec this host is.", Required = true };
    private readonly Option<DirectoryInfo> _root = new("--root") { HelpName = "DIR", Description = "Treat DIR as / for every host file (/etc, /var/lib/hawser). Default: /." };
    private readonly Option<DirectoryInfo> _procSys = new("--proc-sys") { HelpName = "DIR", Description = "Kernel parameters directory. Default: /proc/sys of this network namespace." };
    private readonly Option<string> _config = new("--config") { HelpName = "FILE", Description = $"The agent's own config, under --root. Default: {AgentConfig.DefaultPath} (the built-in defaults when that file does not exist; a file named here must exist)." };
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "Only read the host and print what would change; exit 2 when something would." };
    private readonly Option<string> _output = new("--output", "-o") { Description = "text (a readable plan) or json (the documented shape).", DefaultValueFactory = _ => "text" };

    public ApplyCommand() : base("apply", "Make this host match one node of a spec file (no controller). Exits 0 in sync, 2 when --dry-run finds changes, 1 on failure.")
    {
        _output.AcceptOnlyFromAmong("text", "json");
        Options.Add(_file);
        Options.Add(_node);
        Options.Add(_root);
        Options.Add(_procSys);
        Options.Add(_config);
        Options.Add(_dryRun);
        Options.Add(_output);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-agent apply -f fleet.yaml --node web1 --dry-run", "hawser-agent apply -f fleet.yaml --node web1");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var output = new ApplyConsole(parse.GetValue(_output) == "json");
        var file = parse.GetValue(_file)!;
        var nodeName = parse.GetValue(_node)!;
        var dryRun = parse.GetValue(_dryRun);
        var paths = new HostPaths(parse.GetValue(_root)?.FullName ?? "/", parse.GetValue(_procSys)?.FullName ?? "/proc/sys");
        if (!Directory.Exists(paths.Root))
        {
            await Console.Error.WriteLineAsync($"error: --root {paths.Root} is not a directory");
            return ExitCodes.Usage;
        }

        if (Prepare(output, file, nodeName, paths, parse.GetValue(_config)) is not var (config, blocks))
        {
            return ExitCodes.Failed;
        }
        Microsoft.Win32.SafeHandles.SafeFileHandle? hostLock;
        try
        {
            hostLock = dryRun ? null : TryLock(paths);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(null, 0, 0, $"cannot take the host lock {paths.Map(LockFile)}: {ex.Message}")]);
            return ExitCodes.Failed;
        }
        using var _ = hostLock;
        if (!dryRun && hostLock is null)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(null, 0, 0, $"another hawser-agent is converging this host ({paths.Map(LockFile)} is held)")]);
            return ExitCodes.Failed;
        }
        var runner = new ProcessCommandRunner();
        DockerEngineClient? docker = null;
        try
        {
            if (!dryRun)
            {
                // A previous run killed mid-write left temp files (some hold private keys); the lock says none is running.
                StaleTemporaries.Remove(config, paths, AgentState.Load(paths));
            }
            var converger = new NodeConverger(config, paths, runner, () => docker ??= new DockerEngineClient(config.DockerSocket));
            var report = await converger.ConvergeAsync(blocks, file.DirectoryName!, dryRun, cancellationToken,
                count => output.Start(nodeName, file.FullName, dryRun, count), output.Resource);
            var result = report.Failed ? "failed" : report.HasPendingChanges ? "would-change" : "in-sync";
            output.Finish(nodeName, file.FullName, report, result);
            var exitCode = report.Failed ? ExitCodes.Failed : report.HasPendingChanges ? ExitCodes.ChangesPending : ExitCodes.InSync;
            if (!dryRun)
            {
                Journal(paths, ApplyJournal.Entry(nodeName, file.FullName, report, result, exitCode));
            }
            return exitCode;
        }
        catch (InvalidDataException ex)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(paths.StateFile, 0, 0, ex.Message)]);
            return ExitCodes.Failed;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The undo records are written before each change, so what was changed can still be put back.
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(null, 0, 0, $"could not record the host's state in {paths.StateFile}: {ex.Message}")], nothingChanged: false);
            return ExitCodes.Failed;
        }
        finally
        {
            docker?.Dispose();
        }
    }

    /// <summary>Reads the agent config and the spec; prints every problem and returns null when any.</summary>
    /// <summary>Records the run in the local journal; a journal that cannot be written is a warning, not a failed apply (the host is as reported).</summary>
    private static void Journal(HostPaths paths, JournalEntry entry)
    {
        try
        {
            ApplyJournal.Append(paths, entry);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"warning: could not record this run in {paths.Map(ApplyJournal.HostPath)}: {ex.Message}");
        }
    }

    private static (AgentConfig, ResourceBlocks)? Prepare(ApplyConsole output, FileInfo file, string nodeName, HostPaths paths, string? configPath)
    {
        AgentConfig config;
        try
        {
            config = AgentConfigLoader.Load(paths.Map(configPath ?? AgentConfig.DefaultPath), named: configPath is not null);
        }
        catch (InvalidDataException ex)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(null, 0, 0, ex.Message)]);
            return null;
        }
        if (!file.Exists)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(file.FullName, 0, 0, "the spec file does not exist")]);
            return null;
        }
        string text;
        try
        {
            text = TextInput.ReadUtf8(file.FullName, config.SpecRules.MaxLength);
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(null, 0, 0, ex.Message)]);
            return null;
        }
        var parsed = SpecParser.Parse(text, file.FullName, config.SpecRules);
        if (!parsed.IsValid)
        {
            output.InputErrors(nodeName, file.FullName, [.. parsed.Errors.Select(e => new SpecErrorOutput(e.File, e.Line, e.Column, e.Message))]);
            return null;
        }
        if (!parsed.Spec!.Nodes.ContainsKey(nodeName))
        {
            output.InputErrors(nodeName, file.FullName, [new SpecErrorOutput(file.FullName, 0, 0,
                $"the spec has no node '{nodeName}'; it has: {string.Join(", ", parsed.Spec.Nodes.Keys.Order(StringComparer.Ordinal))}")]);
            return null;
        }
        var resolved = SpecResolver.Resolve(parsed.Spec, nodeName);
        if (!resolved.IsValid)
        {
            output.InputErrors(nodeName, file.FullName, [.. resolved.Conflicts.Select(c => new SpecErrorOutput(file.FullName, 0, 0, $"node '{nodeName}': {c}"))]);
            return null;
        }
        return (config, resolved.Blocks);
    }

    private const string LockFile = AgentDirectory.HostPath + "/agent.lock";

    /// <summary>One converge per host at a time; the lock goes with the process, also on kill -9. Null when it is held.</summary>
    private static Microsoft.Win32.SafeHandles.SafeFileHandle? TryLock(HostPaths paths) =>
        AtomicFile.TryLock(AgentDirectory.PathOf(paths, LockFile), noSymlinks: true);
}
