using System.CommandLine;
using Hawser.Agent.Commands;
using Hawser.Shared.Cli;

var root = new RootCommand("hawser-agent: makes this host match the desired state (sysctls, ufw, NDP proxy, Docker IPv6, certificates).")
{
    new ApplyCommand(),
    new RunCommand(),
    new HistoryCommand(),
    new InstallCommand(),
    InstallCommand.Uninstall(),
};
return await CommandLineRunner.RunAsync(root, args, ExitCodes.Usage);
