namespace Hawser.Shared.ServiceHosting;

/// <summary>Which service manager runs this host.</summary>
public static class InitSystem
{
    /// <summary>
    /// <c>systemd</c>, <c>openrc</c> or <c>none</c>, from what is running rather than what is installed
    /// (Debian can have openrc-run installed under systemd): systemd's and OpenRC's runtime
    /// directories, then PID 1's name.
    /// </summary>
    public static string Detect()
    {
        if (Directory.Exists("/run/systemd/system"))
        {
            return "systemd";
        }
        if (Directory.Exists("/run/openrc"))
        {
            return "openrc";
        }
        var pid1 = File.Exists("/proc/1/comm") ? File.ReadAllText("/proc/1/comm").Trim() : "";
        return pid1 switch
        {
            "systemd" => "systemd",
            "openrc-init" => "openrc",
            _ => "none",
        };
    }
}
