import type { Faker } from "@faker-js/faker"
import { Effect } from "effect"

// A synthetic person from Faker, seeded per cell: the same run seed, column and row give the same person. The field
// names are Data Designer's (`person.first_name` in a template works in both).

export interface PersonOptions {
  readonly locale: string
  readonly sex?: "female" | "male" | undefined
  readonly minAge: number
  readonly maxAge: number
}

// Faker with every locale takes a noticeable part of a second to load: it is loaded only for a config with a
// person column (`loadFakers`, when the config is checked), and kept for the process.
let fakers: Readonly<Record<string, Faker>> | undefined

/** Loads Faker's locales (once); returns the locale names a config may use. */
export const loadFakers: Effect.Effect<ReadonlyArray<string>> = Effect.promise(() => import("@faker-js/faker")).pipe(
  Effect.map((module) => {
    fakers ??= module.allFakers as Readonly<Record<string, Faker>>
    return Object.keys(fakers).filter((locale) => locale !== "base")
  })
)

const fakerOf = (locale: string): Faker => {
  const faker = fakers?.[locale] ?? fakers?.["en_US"]
  // The config check loads Faker for every config with a person column: without it, this is a bug.
  if (faker === undefined) throw new Error("Faker was not loaded before a person column was sampled")
  return faker
}

/** Draws one person; `random` seeds Faker for this cell (Faker is then used synchronously, so nothing interleaves). */
export const samplePerson = (options: PersonOptions, random: () => number): Record<string, unknown> => {
  const faker = fakerOf(options.locale)
  faker.seed(Math.floor(random() * 4294967296))
  const sex = options.sex ?? (random() < 0.5 ? "female" : "male")
  const firstName = faker.person.firstName(sex)
  const lastName = faker.person.lastName(sex)
  const age = options.minAge + Math.floor(random() * (options.maxAge - options.minAge + 1))
  // The birth date is a day of the year the age implies, counted back from a fixed reference year so it does not
  // depend on when the run happens.
  const birthYear = 2025 - age
  const dayOfYear = Math.floor(random() * 365)
  const birthDate = new Date(Date.UTC(birthYear, 0, 1 + dayOfYear)).toISOString().slice(0, 10)
  return {
    first_name: firstName,
    last_name: lastName,
    sex,
    age,
    birth_date: birthDate,
    email_address: faker.internet.email({ firstName, lastName }).toLowerCase(),
    phone_number: faker.phone.number(),
    city: faker.location.city(),
    region: faker.location.state(),
    zipcode: faker.location.zipCode(),
    country: faker.location.country(),
    occupation: faker.person.jobTitle()
  }
}
