using Peft.Net.Cli;

return await PeftCli.RunAsync(args);
