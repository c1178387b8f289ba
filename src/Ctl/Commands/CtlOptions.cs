using System.CommandLine;

namespace Hawser.Ctl.Commands;

/// <summary>How results are printed.</summary>
internal enum OutputFormat
{
    /// <summary>Tables for people.</summary>
    Table,
    /// <summary>Stable JSON for scripts (documented in the README).</summary>
    Json,
}

/// <summary>Options every hawserctl command takes.</summary>
internal static class CtlOptions
{
    /// <summary>The environment variable that names the controller when --controller is not given.</summary>
    public const string ControllerVariable = "HAWSER_CONTROLLER";

    /// <summary>The controller's address when neither --controller, $HAWSER_CONTROLLER nor the config says.</summary>
    public const string DefaultController = "https://127.0.0.1:7443";

    /// <summary>--config FILE.</summary>
    public static readonly Option<string> Config = new("--config")
    {
        HelpName = "FILE",
        Description = $"hawserctl's config (controller URL, CA, admin credential). Default: ${Configuration.CtlConfig.ConfigVariable}, else ~/.config/hawser/hawserctl.yaml.",
        Recursive = true,
        DefaultValueFactory = _ => Configuration.CtlConfig.DefaultPath(),
    };

    /// <summary>--controller URL; null means the config's, else the default.</summary>
    public static readonly Option<Uri?> Controller = new("--controller")
    {
        HelpName = "URL",
        Description = $"The controller's URL. Default: ${ControllerVariable}, else the config's, else {DefaultController}.",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ControllerVariable) is { Length: > 0 } fromEnv ? new Uri(fromEnv) : null,
        CustomParser = result =>
        {
            var text = result.Tokens.Single().Value;
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https")
            {
                return uri;
            }
            result.AddError($"--controller '{text}' is not an http:// or https:// URL");
            return null;
        },
    };

    /// <summary>-o table|json.</summary>
    public static readonly Option<OutputFormat> Output = new("--output", "-o")
    {
        Description = "Output format: table (default) or json.",
        HelpName = "table|json",
        Recursive = true,
        DefaultValueFactory = _ => OutputFormat.Table,
    };
}
