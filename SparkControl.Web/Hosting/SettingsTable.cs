using Microsoft.Extensions.Options;
using SparkControl.Core.Audio;
using SparkControl.Core.Audio.Echo;
using SparkControl.Core.Configuration;
using SparkControl.Core.Gateway;
using SparkControl.Sim.Demo;

namespace SparkControl.Web.Hosting;

/// <summary>
/// The panel's settings sections, each with its options class and validator: the one list that startup validation
/// (a bad value stops the start with one line) and the options registration (checked again on start) both read.
/// </summary>
public static class SettingsTable
{
    public static readonly IReadOnlyList<SettingsSection> Sections =
    [
        SettingsSection.For<SparkControlOptions, SparkControlOptionsValidator>(SparkControlOptions.Section),
        SettingsSection.For<DemoOptions, DemoOptionsValidator>(DemoOptions.Section),
        SettingsSection.For<EchoOptions, EchoOptionsValidator>(EchoOptions.Section),
        SettingsSection.For<AudioOptions, AudioOptionsValidator>(AudioOptions.Section),
        SettingsSection.For<Core.Audio.Transcripts.TranscriptOptions, Core.Audio.Transcripts.TranscriptOptionsValidator>(Core.Audio.Transcripts.TranscriptOptions.Section),
        SettingsSection.For<Core.Operations.OperationsOptions, Core.Operations.OperationsOptionsValidator>(Core.Operations.OperationsOptions.Section),
        SettingsSection.For<GatewayOptions, GatewayOptionsValidator>(GatewayOptions.Section),
        SettingsSection.For<Core.Vectors.QdrantOptions, Core.Vectors.QdrantOptionsValidator>(Core.Vectors.QdrantOptions.Section),
        SettingsSection.For<Core.Launch.NimOptions, Core.Launch.NimOptionsValidator>(Core.Launch.NimOptions.Section),
        SettingsSection.For<Security.SecurityOptions, Security.SecurityOptionsValidator>(Security.SecurityOptions.Section),
    ];
}

/// <summary>One settings section: where it is in the configuration, what it binds to, how it is checked.</summary>
public sealed class SettingsSection
{
    private readonly Func<IConfiguration, ValidateOptionsResult> _validate;
    private readonly Action<IServiceCollection, IConfiguration> _register;

    private SettingsSection(string name, Type options, Func<IConfiguration, ValidateOptionsResult> validate, Action<IServiceCollection, IConfiguration> register)
    {
        Name = name;
        Options = options;
        _validate = validate;
        _register = register;
    }

    /// <summary>The configuration section (<c>SparkControl</c>, <c>Demo</c>, ...).</summary>
    public string Name { get; }

    public Type Options { get; }

    public static SettingsSection For<TOptions, TValidator>(string name)
        where TOptions : class, new()
        where TValidator : class, IValidateOptions<TOptions>, new() => new(
            name,
            typeof(TOptions),
            configuration => new TValidator().Validate(null, StartupValidation.Bind<TOptions>(configuration, name)),
            (services, configuration) =>
            {
                services.AddOptions<TOptions>().Bind(configuration.GetSection(name)).ValidateOnStart();
                services.AddSingleton<IValidateOptions<TOptions>, TValidator>();
            });

    /// <summary>The section's values checked by its validator, as the app would bind them.</summary>
    public ValidateOptionsResult Validate(IConfiguration configuration) => _validate(configuration);

    /// <summary>Binds the section to its options, validated on start.</summary>
    public void Register(IServiceCollection services, IConfiguration configuration) => _register(services, configuration);
}
