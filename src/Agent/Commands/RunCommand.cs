using Hawser.Shared.Cli;
using Hawser.Agent.State;
using System.CommandLine;
using Hawser.Agent.Configuration;
using Hawser.Agent.Fleet;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;
using Hawser.Shared.Transport;
using Hawser.Agent.Output;
using Microsoft.Extensions.Logging;

namespace Hawser.Agent.Commands;

/// <summary><c>hawser-agent run</c>: the agent as a service, driven by the controller.</summary>
internal sealed class RunCommand : Command
{
    private readonly Option<string[]> _controller = new("--controller")
    {
        HelpName = "URL",
        Description = "The controller, https://HOST:PORT. Repeat for several controllers sharing one store (a name with several " +
            "addresses counts once per address): the agent uses one at a time, in an order of its own, and moves to the next when one fails or stops.",
        Required = true,
    };
    private readonly Option<string> _node = new("--node") { HelpName = "NAME", Description = "This node's name (the spec's node key).", Required = true };
    private readonly Option<string> _token = new("--join-token") { HelpName = "TOKEN", Description = "From `hawserctl token create`; needed only until the agent has enrolled." };
    private readonly Option<string> _caHash = new("--ca-hash") { HelpName = "sha256:HEX", Description = "The controller CA's pin from `hawserctl token create`; needed with --join-token." };
    private readonly Option<DirectoryInfo> _root = new("--root") { HelpName = "DIR", Description = "Treat DIR as / for every host file. Default: /." };
    private readonly Option<DirectoryInfo> _procSys = new("--proc-sys") { HelpName = "DIR", Description = "Kernel parameters directory. Default: /proc/sys." };
    private readonly Option<string> _config = new("--config") { HelpName = "FILE", Description = $"The agent's own config, under --root. Default: {AgentConfig.DefaultPath} (the built-in defaults when that file does not exist; a file named here must exist)." };
    private readonly Option<TimeSpan> _interval = Hawser.Shared.Cli.Durations.Option("--interval", "How often to converge unasked, correcting drift; default 60s", TimeSpan.FromSeconds(60));
    private readonly Option<LogFormat> _logFormat = ServiceLogging.Option();

    public RunCommand() : base("run", "Enroll with the controller (once, with a join token), keep a stream to it, converge to the desired state it sends, correct drift, report.")
    {
        Options.Add(_controller);
        Options.Add(_node);
        Options.Add(_token);
        Options.Add(_caHash);
        Options.Add(_root);
        Options.Add(_procSys);
        Options.Add(_config);
        Options.Add(_interval);
        Options.Add(_logFormat);
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-agent run --controller https://ctl.example.org:7443 --node web1 --join-token TOKEN --ca-hash sha256:HEX", "hawser-agent run --controller https://ctl.example.org:7443 --node web1 --interval 30s",
            "hawser-agent run --controller https://ctl1.example.org:7443 --controller https://ctl2.example.org:7443 --node web1");
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var paths = new HostPaths(parse.GetValue(_root)?.FullName ?? "/", parse.GetValue(_procSys)?.FullName ?? "/proc/sys");
        if (!Directory.Exists(paths.Root))
        {
            await Console.Error.WriteLineAsync($"error: --root {paths.Root} is not a directory");
            return ExitCodes.Usage;
        }
        AgentConfig config;
        try
        {
            config = AgentConfigLoader.Load(paths.Map(parse.GetValue(_config) ?? AgentConfig.DefaultPath), named: parse.GetValue(_config) is not null);
        }
        catch (InvalidDataException ex)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.Failed;
        }
        var controllers = new List<Uri>();
        foreach (var text in parse.GetValue(_controller) ?? [])
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var controller) || controller.Scheme != "https")
            {
                await Console.Error.WriteLineAsync($"error: --controller '{text}' must be an https:// URL");
                return ExitCodes.Usage;
            }
            controllers.Add(controller);
        }
        var interval = parse.GetValue(_interval);
        if (interval < TimeSpan.FromSeconds(1))
        {
            await Console.Error.WriteLineAsync("error: --interval must be at least one second");
            return ExitCodes.Usage;
        }
        // A pin or token that cannot be right is said now, not after retrying the controller until a timeout.
        if (parse.GetValue(_token) is { } token && !IsJoinToken(token))
        {
            await Console.Error.WriteLineAsync("error: --join-token must be ID.SECRET as `hawserctl token create` prints it");
            return ExitCodes.Usage;
        }
        if (parse.GetValue(_caHash) is { } pin && !System.Text.RegularExpressions.Regex.IsMatch(pin.Trim(), "^sha256:[0-9a-fA-F]{64}\\z"))
        {
            await Console.Error.WriteLineAsync($"error: --ca-hash '{pin}' must be sha256: and 64 hex digits, as `hawserctl token create` prints it");
            return ExitCodes.Usage;
        }
        var node = parse.GetValue(_node)!;
        using var loggers = LoggerFactory.Create(builder => builder.AddServiceConsole(parse.GetValue(_logFormat), LogLevel.Information));
        var log = loggers.CreateLogger(AgentLog.Category);
        using var agent = new FleetAgent(new FleetAgentOptions
        {
            Controllers = controllers,
            Node = parse.GetValue(_node)!,
            JoinToken = parse.GetValue(_token),
            CaHash = parse.GetValue(_caHash),
            Interval = interval,
            // Disposing the factory drains the console logger's queue: the lines before an execv are not lost.
            FlushLogs = loggers.Dispose,
        }, config, paths, log);
        AgentLog.Starting(log, node);
        RemoveStaleTemporaries(config, paths, log);
        // In fleet mode the agent's one TLS peer is its controller, checked against the pinned CA only.
        PinnedTrust.ExcludeSystemRoots();
        return await agent.RunAsync(cancellationToken);
    }

    private static bool IsJoinToken(string token) =>
        token.IndexOf('.', StringComparison.Ordinal) is var dot && dot > 0 && dot < token.Length - 1 && !token.Any(char.IsWhiteSpace);

    /// <summary>Before anything else writes: a previous run killed mid-write left temp files, some holding keys.</summary>
    private static void RemoveStaleTemporaries(AgentConfig config, HostPaths paths, ILogger log)
    {
        try
        {
            foreach (var removed in StaleTemporaries.Remove(config, paths, AgentState.Load(paths)))
            {
                AgentLog.StaleTemporaryRemoved(log, removed);
            }
        }
        catch (Exception ex) when (ex is InvalidDataException or IOException or UnauthorizedAccessException)
        {
            AgentLog.StaleTemporariesUnreadable(log, ex.Message);
        }
    }
}
