using System.Globalization;
using System.Reflection;
using Microsoft.Extensions.Options;

namespace SparkControl.Web.Hosting;

/// <summary>
/// Checks every setting before the host is built, so a bad value stops startup with one line naming the key
/// (e.g. <c>SparkControl:Port: 'abc' is not a whole number</c>) instead of a stack trace from the binder.
/// </summary>
public static class StartupValidation
{
    public static string? Describe(IConfiguration configuration)
    {
        var errors = new List<string>();
        foreach (var section in SettingsTable.Sections)
        {
            CheckTypes(configuration, section.Name, section.Options, errors);
        }

        if (errors.Count == 0)
        {
            foreach (var section in SettingsTable.Sections)
            {
                Collect(section.Validate(configuration), errors);
            }
        }

        return errors.Count == 0 ? null : string.Join("; ", errors);
    }

    public static T Bind<T>(IConfiguration configuration, string section)
        where T : new()
    {
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    private static void Collect(ValidateOptionsResult result, List<string> errors)
    {
        if (result.Failed)
        {
            errors.AddRange(result.Failures);
        }
    }

    /// <summary>Every value that is present must convert to its property's type; walks nested settings classes.</summary>
    private static void CheckTypes(IConfiguration configuration, string path, Type type, List<string> errors)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
        {
            var key = $"{path}:{property.Name}";
            var target = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (target.IsClass && target != typeof(string))
            {
                CheckTypes(configuration, key, target, errors);
                continue;
            }

            var value = configuration[key];
            if (string.IsNullOrEmpty(value))
            {
                continue;
            }

            var problem = target switch
            {
                _ when target == typeof(int) => int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : "is not a whole number",
                _ when target == typeof(double) => double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : "is not a number",
                _ when target == typeof(bool) => bool.TryParse(value, out _) ? null : "is not true or false",
                _ when target == typeof(TimeSpan) => TimeSpan.TryParse(value, CultureInfo.InvariantCulture, out _) ? null : "is not a duration like 00:00:05",
                _ when target.IsEnum => Enum.TryParse(target, value, ignoreCase: true, out _) ? null : $"is not one of {string.Join(", ", Enum.GetNames(target))}",
                _ => null,
            };
            if (problem is not null)
            {
                errors.Add($"{key}: '{value}' {problem}");
            }
        }
    }
}
