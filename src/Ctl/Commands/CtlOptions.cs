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

    /// <summary>The controller's address when neither --controller nor $HAWSER_CONTROLLER is set.</summary>
    public const string DefaultController = "http://127.0.0.1:7443";

    /// <summary>--controller URL.</summary>
    public static readonly Option<Uri> Controller = new("--controller")
    {
        Description = $"The controller's URL (http:// for loopback h2c). Default: ${ControllerVariable}, else {DefaultController}.",
        Recursive = true,
        DefaultValueFactory = _ => new Uri(Environment.GetEnvironmentVariable(ControllerVariable) is { Length: > 0 } fromEnv ? fromEnv : DefaultController),
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
