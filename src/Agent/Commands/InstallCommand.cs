using Hawser.Shared.Cli;
using System.CommandLine;
using System.Text;
using Hawser.Agent.Install;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;
using Hawser.Shared.Spec;

namespace Hawser.Agent.Commands;

/// <summary><c>hawser-agent install</c>: the agent as a systemd or OpenRC service, enrolled.</summary>
internal sealed class InstallCommand : Command
{
    /// <summary>What install created, read by uninstall.</summary>
    public const string Manifest = "/var/lib/hawser/install.json";

    private static readonly string[] Purged = ["/var/lib/hawser", "/etc/hawser"];
    private static readonly byte[] DefaultConfig = Encoding.UTF8.GetBytes(
        "# hawser-agent's own settings; every key is optional (see the README, \"agent.yaml\").\n# allowedCommands: [/usr/sbin/nginx]\n");

    private readonly Option<string> _controller = new("--controller") { HelpName = "URL", Description = "The controller, https://HOST:PORT.", Required = true };
    private readonly Option<string> _node = new("--node") { HelpName = "NAME", Description = "This node's name. Default: the host name." };
    private readonly Option<string> _token = new("--join-token") { HelpName = "TOKEN", Description = "From `hawserctl token create`." };
    private readonly Option<string> _caHash = new("--ca-hash") { HelpName = "sha256:HEX", Description = "The controller CA's pin from `hawserctl token create`." };
    private readonly Option<string> _init = ServiceInstallCommands.InitOption();
    private readonly Option<string> _binary = ServiceInstallCommands.BinaryOption();
    private readonly Option<DirectoryInfo> _root = ServiceInstallCommands.RootOption();
    private readonly Option<TimeSpan> _wait = ServiceInstallCommands.WaitOption("the agent to enroll");

    public InstallCommand() : base("install", "Install this agent as a service (systemd or OpenRC), enable and start it, and wait until it has enrolled.")
    {
        foreach (var option in new Option[] { _controller, _node, _token, _caHash, _init, _binary, _root, _wait })
        {
            Options.Add(option);
        }
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-agent install --controller https://ctl.example.org:7443 --node web1 --join-token TOKEN --ca-hash sha256:HEX");
    }

    /// <summary><c>hawser-agent uninstall [--purge] [--root DIR]</c>.</summary>
    public static Command Uninstall() => ServiceInstallCommands.Uninstall("hawser-agent", Manifest, Purged);

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var node = parse.GetValue(_node) ?? Environment.MachineName;
        var (init, initError) = ServiceInstallCommands.ResolveInit(parse.GetValue(_init)!);
        var (binary, binaryError) = ServiceInstallCommands.ResolveBinary(parse.GetValue(_binary));
        var error = !Uri.TryCreate(parse.GetValue(_controller), UriKind.Absolute, out var controller) || controller.Scheme != "https"
            ? $"--controller '{parse.GetValue(_controller)}' must be an https:// URL"
            : !SpecParser.IsValidNodeName(node) ? $"node name '{node}' must be 1-63 letters, digits, '.', '_' or '-'; give --node"
            : (parse.GetValue(_token) is null) != (parse.GetValue(_caHash) is null) ? "--join-token and --ca-hash go together"
            : initError ?? binaryError;
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"error: {error}");
            return ExitCodes.Usage;
        }
        var arguments = string.Join(' ', new[]
        {
            parse.GetValue(_token) is { } token ? $"--join-token {token}" : null,
            parse.GetValue(_caHash) is { } hash ? $"--ca-hash {hash}" : null,
        }.OfType<string>());
        var installer = ServiceInstallCommands.Installer(parse.GetValue(_root), Console.Out);
        var (unit, script) = ServiceInstallCommands.BuiltInDefinitions(typeof(InstallCommand).Assembly, "hawser-agent");
        var service = new ServiceDefinition
        {
            Name = "hawser-agent",
            Binary = binary!,
            InitSystem = init!,
            SystemdUnit = unit,
            OpenRcScript = script,
            Settings = [new("HAWSER_CONTROLLER", controller!.ToString()), new("HAWSER_NODE", node), new("HAWSER_AGENT_ARGS", arguments)],
            Files = [new InstalledFile("/etc/hawser/agent.yaml", DefaultConfig, (UnixFileMode)0b110_100_100, KeepExisting: true)],
            Manifest = Manifest,
        };
        var watch = new EnrollmentWatch(new HostPaths("/", "/proc/sys"), installer, init!, Console.Out);
        var wait = parse.GetValue(_wait);
        return await ServiceInstallCommands.InstallAndWaitAsync(installer, service, wait, "the enrollment", () => watch.WaitAsync(wait, cancellationToken), cancellationToken);
    }
}
