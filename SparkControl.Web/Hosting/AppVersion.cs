using System.Reflection;

namespace SparkControl.Web.Hosting;

/// <summary>The version the assembly was built with, as shown in the footer and /healthz.</summary>
public static class AppVersion
{
    public static string Current { get; } = Read();

    private static string Read()
    {
        var informational = typeof(AppVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        // "0.1.0+<commit>": keep the short commit so a screenshot tells which build it shows.
        return plus < 0 ? informational : $"{informational[..plus]}+{informational[(plus + 1)..Math.Min(informational.Length, plus + 8)]}";
    }
}
