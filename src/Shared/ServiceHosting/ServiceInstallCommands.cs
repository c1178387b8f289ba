using System.CommandLine;
using System.Reflection;
using Hawser.Shared.HostAccess;

namespace Hawser.Shared.ServiceHosting;

/// <summary>The options and steps <c>install</c> and <c>uninstall</c> share between hawser-agent and hawser-controller.</summary>
public static class ServiceInstallCommands
{
    /// <summary>--init auto|systemd|openrc.</summary>
    public static Option<string> InitOption()
    {
        var option = new Option<string>("--init") { Description = "auto (detect the running one), systemd or openrc.", DefaultValueFactory = _ => "auto" };
        option.AcceptOnlyFromAmong("auto", "systemd", "openrc");
        return option;
    }

    /// <summary>--binary FILE.</summary>
    public static Option<string> BinaryOption() =>
        new("--binary") { HelpName = "FILE", Description = "The binary to install. Default: this one (a release build; a `dotnet x.dll` run cannot copy itself)." };

    /// <summary>--root DIR.</summary>
    public static Option<DirectoryInfo> RootOption() =>
        new("--root") { HelpName = "DIR", Description = "Lay everything under DIR and print the service-manager calls instead of running them." };

    /// <summary>--wait TIME.</summary>
    public static Option<TimeSpan> WaitOption(string what) =>
        Cli.Durations.Option("--wait", $"How long to wait for {what} after starting, 0s: do not wait; default 60s", TimeSpan.FromSeconds(60));

    /// <summary>The installer for --root (print-only) or the real host.</summary>
    public static ServiceInstaller Installer(DirectoryInfo? root, TextWriter output) =>
        new(new HostPaths(root?.FullName ?? "/", "/proc/sys"), new ProcessCommandRunner(), printOnly: root is not null, output);

    /// <summary>The init system to install for, or an error for the operator.</summary>
    public static (string? Init, string? Error) ResolveInit(string requested)
    {
        if (requested != "auto")
        {
            return (requested, null);
        }
        var detected = InitSystem.Detect();
        return detected == "none" ? (null, "neither systemd nor OpenRC runs here; give --init systemd or --init openrc") : (detected, null);
    }

    /// <summary>The binary to copy, or an error for the operator.</summary>
    public static (string? Binary, string? Error) ResolveBinary(string? given)
    {
        var binary = given ?? Environment.ProcessPath;
        return binary is null || !File.Exists(binary) || Path.GetFileName(binary) == "dotnet"
            ? (null, $"'{binary}' is not a binary to install; run a release build or give --binary")
            : (binary, null);
    }

    /// <summary>The unit and OpenRC script for <paramref name="name"/> built into <paramref name="assembly"/> (packaging/ files, embedded as NAME.service and NAME.openrc).</summary>
    public static (byte[] SystemdUnit, byte[] OpenRcScript) BuiltInDefinitions(Assembly assembly, string name) =>
        (Resource(assembly, name + ".service"), Resource(assembly, name + ".openrc"));

    /// <summary>
    /// Installs <paramref name="service"/>, then, unless under --root or told not to wait, waits with
    /// <paramref name="waitUntilUp"/>. Returns 0 when installed (and up), 1 otherwise.
    /// </summary>
    public static async Task<int> InstallAndWaitAsync(ServiceInstaller installer, ServiceDefinition service, TimeSpan wait, string waitingFor,
        Func<Task<bool>> waitUntilUp, CancellationToken cancellationToken)
    {
        try
        {
            await installer.InstallAsync(service, cancellationToken);
        }
        catch (Exception ex) when (ex is CommandFailedException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            await Console.Error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }
        if (installer.PrintOnly || wait <= TimeSpan.Zero)
        {
            Console.WriteLine($"installed; not waiting for {waitingFor}" + (installer.PrintOnly ? " (--root: nothing was started)" : ""));
            return 0;
        }
        return await waitUntilUp() ? 0 : 1;
    }

    private static byte[] Resource(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"the {name} resource is not built in");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary><c>uninstall [--purge] [--root DIR]</c> for the service that <paramref name="manifest"/> records.</summary>
    public static Command Uninstall(string service, string manifest, IReadOnlyList<string> purged)
    {
        var purge = new Option<bool>("--purge") { Description = $"Also remove {string.Join(" and ", purged)} (identity, state, config)." };
        var root = RootOption();
        var command = new Command("uninstall", $"Stop, disable and remove what `{service} install` put in place; state and config stay unless --purge.") { purge, root };
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                await Installer(parse.GetValue(root), Console.Out).UninstallAsync(manifest, parse.GetValue(purge) ? purged : [], cancellationToken);
                return 0;
            }
            catch (Exception ex) when (ex is InvalidOperationException or CommandFailedException or IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }
        });
        return command;
    }
}
