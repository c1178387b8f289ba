using System.CommandLine;
using System.Net;
using System.Net.Sockets;
using Hawser.Controller.Pki;
using Hawser.Controller.Store;
using Hawser.Shared.Cli;
using Hawser.Shared.HostAccess;
using Hawser.Shared.ServiceHosting;

namespace Hawser.Controller.Commands;

/// <summary><c>hawser-controller install</c>: initialized, installed as a systemd or OpenRC service, started, listening.</summary>
internal sealed class InstallCommand : Command
{
    /// <summary>What install created, read by uninstall.</summary>
    public const string Manifest = RunCommand.DefaultData + "/install.json";

    /// <summary>Where the OpenRC script sends the controller's output.</summary>
    private const string OpenRcLog = "/var/log/hawser/controller.log";

    /// <summary>The account the OpenRC script runs the controller as (systemd uses a dynamic user).</summary>
    private const string ServiceUser = "hawser";

    // systemd moves a DynamicUser's StateDirectory under /var/lib/private.
    private static readonly string[] Purged = [RunCommand.DefaultData, "/var/lib/private/hawser-controller"];

    private readonly Option<string[]> _names = new("--name") { HelpName = "DNS", Description = "A DNS name agents and hawserctl use for the controller; repeat for more. Default: localhost.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string[]> _addresses = new("--address") { HelpName = "IP", Description = "An IP address agents and hawserctl use for the controller; repeat for more. Default: 127.0.0.1 and ::1.", AllowMultipleArgumentsPerToken = true };
    private readonly Option<string> _listen = new("--listen") { HelpName = "IP:PORT", Description = "Where the service listens.", DefaultValueFactory = _ => "0.0.0.0:7443" };
    private readonly Option<string> _ctlConfig = new("--ctl-config") { HelpName = "FILE", Description = "Where to write hawserctl's config when the controller is initialized here. Default: ~/.config/hawser/hawserctl.yaml." };
    private readonly Option<string> _init = ServiceInstallCommands.InitOption();
    private readonly Option<string> _binary = ServiceInstallCommands.BinaryOption();
    private readonly Option<DirectoryInfo> _root = ServiceInstallCommands.RootOption();
    private readonly Option<TimeSpan> _wait = ServiceInstallCommands.WaitOption("the controller to listen");

    public InstallCommand() : base("install", $"Initialize {RunCommand.DefaultData} (unless it is), install the controller as a service (systemd or OpenRC), enable and start it, and wait until it listens.")
    {
        foreach (var option in new Option[] { _names, _addresses, _listen, _ctlConfig, _init, _binary, _root, _wait })
        {
            Options.Add(option);
        }
        SetAction(RunAsync);
        CommandExamples.Set(this, "hawser-controller install --listen 0.0.0.0:7443");
    }

    /// <summary><c>hawser-controller uninstall [--purge] [--root DIR]</c>.</summary>
    public static Command Uninstall() => ServiceInstallCommands.Uninstall("hawser-controller", Manifest, Purged);

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var (init, initError) = ServiceInstallCommands.ResolveInit(parse.GetValue(_init)!);
        var (binary, binaryError) = ServiceInstallCommands.ResolveBinary(parse.GetValue(_binary));
        var listenText = parse.GetValue(_listen)!;
        var error = !IPEndPoint.TryParse(listenText, out var listen) || listen.Port == 0 ? $"--listen '{listenText}' must be IP:PORT, e.g. 0.0.0.0:7443" : initError ?? binaryError;
        if (error is not null)
        {
            await Console.Error.WriteLineAsync($"error: {error}");
            return ExitCodes.Usage;
        }
        if (InitCommand.ParseAddresses(parse.GetValue(_addresses)) is not { } addresses)
        {
            return ExitCodes.Usage;
        }
        var root = parse.GetValue(_root);
        var paths = new HostPaths(root?.FullName ?? "/", "/proc/sys");
        var installer = ServiceInstallCommands.Installer(root, Console.Out);
        var data = paths.Map(RunCommand.DefaultData);
        var madeForData = installer.MissingParents(RunCommand.DefaultData);
        if (ControllerPki.Exists(data))
        {
            Console.WriteLine($"{RunCommand.DefaultData} is already initialized; keeping it");
        }
        else
        {
            var ctlConfig = parse.GetValue(_ctlConfig)
                ?? Path.Join(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "hawser", "hawserctl.yaml");
            var url = $"https://{(listen!.Address.Equals(IPAddress.Any) || listen.Address.Equals(IPAddress.IPv6Any) ? "127.0.0.1" : listen.Address)}:{listen.Port}";
            var initialized = await InitCommand.InitializeAsync(data, StoreLocation.Sqlite(data), parse.GetValue(_names) ?? [], addresses, paths.Map(Path.GetFullPath(ctlConfig)), url);
            if (initialized != ExitCodes.Ok)
            {
                return initialized;
            }
        }
        var (unit, script) = ServiceInstallCommands.BuiltInDefinitions(typeof(InstallCommand).Assembly, "hawser-controller");
        var service = new ServiceDefinition
        {
            Name = "hawser-controller",
            Binary = binary!,
            InitSystem = init!,
            SystemdUnit = unit,
            OpenRcScript = script,
            Settings = [new("HAWSER_LISTEN", listenText)],
            BeforeStart = init == "openrc" ? AccountCalls(paths) : [],
            CreatedDirectories = madeForData,
            Manifest = Manifest,
        };
        var wait = parse.GetValue(_wait);
        return await ServiceInstallCommands.InstallAndWaitAsync(installer, service, wait, "the controller to listen",
            () => WaitUntilListeningAsync(installer, init!, listen!, wait, cancellationToken), cancellationToken);
    }

    /// <summary>Under OpenRC the controller runs as 'hawser': create the account when missing, and give it the data directory.</summary>
    private static string[][] AccountCalls(HostPaths paths)
    {
        var calls = new List<string[]>();
        var passwd = paths.Map("/etc/passwd");
        if (!File.Exists(passwd) || !File.ReadLines(passwd).Any(line => line.StartsWith(ServiceUser + ":", StringComparison.Ordinal)))
        {
            // Debian's shadow tools, else busybox's (Alpine).
            calls.AddRange(File.Exists(paths.Map("/usr/sbin/useradd"))
                ? [["useradd", "--system", "--user-group", "--home-dir", RunCommand.DefaultData, "--shell", "/usr/sbin/nologin", ServiceUser]]
                : [["addgroup", "-S", ServiceUser], ["adduser", "-S", "-D", "-H", "-h", RunCommand.DefaultData, "-s", "/sbin/nologin", "-G", ServiceUser, ServiceUser]]);
        }
        calls.Add(["chown", "-R", $"{ServiceUser}:{ServiceUser}", RunCommand.DefaultData]);
        return [.. calls];
    }

    private static async Task<bool> WaitUntilListeningAsync(ServiceInstaller installer, string init, IPEndPoint listen, TimeSpan wait, CancellationToken cancellationToken)
    {
        var target = new IPEndPoint(listen.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : listen.Address.Equals(IPAddress.IPv6Any) ? IPAddress.IPv6Loopback : listen.Address, listen.Port);
        async Task<bool> Listening()
        {
            using var socket = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(target, cancellationToken);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }
        if (!await installer.WaitUntilAsync("hawser-controller", init, OpenRcLog, wait, Listening,
            ($"for the controller to listen on {target}", "the hawser-controller service stopped", $"the controller is not listening after {wait.TotalSeconds:0} s"), cancellationToken))
        {
            return false;
        }
        Console.WriteLine($"listening on {listen}; next: `hawserctl token create` for each host's `hawser-agent install`");
        return true;
    }
}
