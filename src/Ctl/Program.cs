using System.CommandLine;
using Hawser.Shared.Cli;
using Hawser.Ctl.Commands;

var root = new RootCommand("hawserctl: see and steer a Hawser fleet through its controller.")
{
    CtlOptions.Config,
    CtlOptions.Controller,
    CtlOptions.Output,
    new StatusCommand(),
    new NodesCommand(),
    new ApplyCommand(),
    new DiffCommand(),
    new RevisionsCommand(),
    new EventsCommand(),
    new NodeCommand(),
    new TokenCommand(),
    new CertsCommand(),
    new RolloutCommand(),
    new OperatorCommand(),
    new WhoamiCommand(),
    new NotificationsCommand(),
    new AgentCommand(),
};
CommandExamples.Set(root, "hawserctl status", "hawserctl apply -f fleet.yaml -m \"keepalive 600\"", "hawserctl whoami",
    "hawserctl operator add alice --role viewer", "hawserctl operator add ci-deploy --role operator --selector role=web",
    "hawserctl operator enroll --controller https://ctl.example.org:7443 --token ID.SECRET --ca-hash sha256:...", "hawserctl events --actor alice");
return await CommandLineRunner.RunAsync(root, args);
