using System.CommandLine;
using Hawser.Agent.Host;
using Hawser.Agent.Install;

namespace Hawser.Agent.Commands;

/// <summary><c>hawser-agent install</c> and <c>uninstall</c>: the agent as a systemd or OpenRC service.</summary>
internal sealed class InstallCommand : Command
{
    private readonly Option<string> _controller = new("--controller") { HelpName = "URL", Description = "The controller, https://HOST:PORT.", Required = true };
    private readonly Option<string> _node = new("--node") { HelpName = "NAME", Description = "This node's name. Default: the host name." };
    private readonly Option<string> _token = new("--join-token") { HelpName = "TOKEN", Description = "From `hawserctl token create`." };
    private readonly Option<string> _caHash = new("--ca-hash") { HelpName = "sha256:HEX", Description = "The controller CA's pin from `hawserctl token create`." };
    private readonly Option<string> _init = new("--init") { Description = "auto (detect), systemd or openrc.", DefaultValueFactory = _ => "auto" };
    private readonly Option<string> _binary = new("--binary") { HelpName = "FILE", Description = "The agent binary to install. Default: this one." };
    private static readonly Option<DirectoryInfo> Root = new("--root") { HelpName = "DIR", Description = "Lay everything under DIR and print the service-manager calls instead of running them." };

    public InstallCommand() : base("install", "Install this agent as a service (systemd or OpenRC), enable and start it.")
    {
        _init.AcceptOnlyFromAmong("auto", "systemd", "openrc");
        foreach (var option in new Option[] { _controller, _node, _token, _caHash, _init, _binary, Root })
        {
            Options.Add(option);
        }
        SetAction(RunAsync);
    }

    /// <summary><c>hawser-agent uninstall [--purge] [--root DIR]</c>.</summary>
    public static Command Uninstall()
    {
        var purge = new Option<bool>("--purge") { Description = "Also remove /var/lib/hawser (identity, state) and /etc/hawser." };
        var command = new Command("uninstall", "Stop, disable and remove what `install` put in place; the agent's state stays unless --purge.") { purge, Root };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var installer = Installer(parse);
            try
            {
                await installer.UninstallAsync(parse.GetValue(purge), cancellationToken);
                return ExitCodes.InSync;
            }
            catch (Exception ex) when (ex is InvalidOperationException or CommandFailedException or IOException)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    private static ServiceInstaller Installer(ParseResult parse)
    {
        var root = parse.GetValue(Root)?.FullName;
        return new ServiceInstaller(new HostPaths(root ?? "/", "/proc/sys"), new ProcessCommandRunner(), printOnly: root is not null, Console.Out);
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        if (!Uri.TryCreate(parse.GetValue(_controller), UriKind.Absolute, out var controller) || controller.Scheme != "https")
        {
            await Console.Error.WriteLineAsync($"error: --controller '{parse.GetValue(_controller)}' must be an https:// URL");
            return ExitCodes.Usage;
        }
        var init = parse.GetValue(_init)!;
        if (init == "auto")
        {
            init = ServiceManager.DetectInitSystem();
            if (init == "none")
            {
                await Console.Error.WriteLineAsync("error: neither systemd nor OpenRC runs here; give --init systemd or --init openrc");
                return ExitCodes.Usage;
            }
        }
        var binary = parse.GetValue(_binary) ?? Environment.ProcessPath!;
        if (!File.Exists(binary) || Path.GetFileName(binary) == "dotnet")
        {
            await Console.Error.WriteLineAsync($"error: '{binary}' is not an agent binary to install; give --binary");
            return ExitCodes.Usage;
        }
        try
        {
            await Installer(parse).InstallAsync(new InstallOptions
            {
                Controller = controller,
                Node = parse.GetValue(_node) ?? Environment.MachineName,
                JoinToken = parse.GetValue(_token),
                CaHash = parse.GetValue(_caHash),
                InitSystem = init,
                Binary = binary,
            }, cancellationToken);
            return ExitCodes.InSync;
        }
        catch (Exception ex) when (ex is CommandFailedException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.Failed;
        }
    }
}
